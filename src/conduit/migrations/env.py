"""Alembic environment for Conduit's own migrations: its models, its settings' database.

Run through ``conduit migrate`` (which passes an open connection in
``config.attributes["connection"]``) or through the plain ``alembic`` command. What it does is
:mod:`conduit.db.migration_env`, shared with the environments ``conduit migrate init`` writes.
"""

from __future__ import annotations

from conduit.db.config import DatabaseConfig
from conduit.db.migration_env import run
from conduit.domain import schema


def _database() -> DatabaseConfig:
    # Imported here: the settings are read only when the bare alembic command runs this file.
    from conduit.settings import load_settings  # noqa: PLC0415

    return load_settings().database


# Every model under conduit.domain must be imported by conduit.domain.schema.
run(schema, database=_database, packages=["conduit.domain"])
