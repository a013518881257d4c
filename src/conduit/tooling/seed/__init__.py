"""Deterministic, realistic demo data at a chosen size, loaded fast (``conduit db seed``).

Every seeded account signs in with the password ``password``; the first one of a fresh data
set is ``demo@example.com``.

Tooling, not service: the app never seeds. The rows follow the schema and the rules of
``conduit.domain`` (its tables, slugs, kept counts); COPY goes through :mod:`conduit.db.bulk_load`.
"""

from conduit.tooling.seed.generate import DataSet
from conduit.tooling.seed.load import Loaded, Progress, SchemaMismatch
from conduit.tooling.seed.service import (
    DatabaseNotEmpty,
    Mode,
    SeedReport,
    demo_password_hash,
    seed_database,
)
from conduit.tooling.seed.spec import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    SeedSpec,
    SeedSpecError,
    Start,
    TableRows,
    today,
)

__all__ = [
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "DataSet",
    "DatabaseNotEmpty",
    "Loaded",
    "Mode",
    "Progress",
    "SchemaMismatch",
    "SeedReport",
    "SeedSpec",
    "SeedSpecError",
    "Start",
    "TableRows",
    "demo_password_hash",
    "seed_database",
    "today",
]
