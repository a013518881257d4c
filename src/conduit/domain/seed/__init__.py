"""Deterministic, realistic demo data at a chosen size, loaded fast (``conduit db seed``).

Every seeded account signs in with the password ``password``; the first one of a fresh data
set is ``demo@example.com``.
"""

from conduit.domain.seed.generate import DataSet
from conduit.domain.seed.load import Loaded, Progress, SchemaMismatch
from conduit.domain.seed.service import (
    DatabaseNotEmpty,
    Mode,
    SeedReport,
    demo_password_hash,
    seed_database,
)
from conduit.domain.seed.spec import (
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
