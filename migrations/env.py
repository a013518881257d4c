"""Alembic environment: async, URL from the Conduit settings, batch mode on SQLite.

Run through ``conduit migrate`` (which passes an open connection in
``config.attributes["connection"]``) or through the plain ``alembic`` command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from conduit.db.config import DatabaseConfig
from conduit.domain.schema import metadata

config = context.config


def _database_config() -> DatabaseConfig:
    given = config.attributes.get("database_config")
    if isinstance(given, DatabaseConfig):
        return given
    # Imported here: the settings are read only when the bare alembic command runs this file.
    from conduit.settings import load_settings  # noqa: PLC0415

    return load_settings().database


def _include_object(dialect_name: str) -> Callable[..., bool]:
    """Leave PostgreSQL-only objects (``info={"postgresql_only": True}``) out on other dialects.

    GIN indexes (full-text search, trigrams) exist on PostgreSQL alone: their revisions skip
    them elsewhere, so the comparison with the models (autogenerate, the drift check) must too.
    """

    def include(obj: Any, _name: str | None, _type: str, _reflected: bool, _other: Any) -> bool:
        info = getattr(obj, "info", None) or {}
        return dialect_name == "postgresql" or not info.get("postgresql_only", False)

    return include


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": metadata,
        "include_object": _include_object(dialect_name),
        "compare_type": True,
        # ALTER TABLE on SQLite means copy-and-move; batch mode does that for us.
        "render_as_batch": dialect_name == "sqlite",
        # One transaction per revision: a failure leaves the schema at the last good revision.
        "transaction_per_migration": True,
    }


def run_offline() -> None:
    url: URL = config.attributes.get("offline_url") or _database_config().url
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(url.get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_database_config().url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_on)
    finally:
        await engine.dispose()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    run_offline()
else:
    run_online()
