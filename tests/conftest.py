"""Shared fixtures: one migrated database per dialect, one rolled-back transaction per test.

SQLite always runs. PostgreSQL runs when ``TEST_DATABASE_URL`` is set: the suite creates a fresh
database of its own on that server and drops it at the end. ``REQUIRE_POSTGRES=1`` turns a
missing or unreachable server into a failure instead of a skip.

MySQL/MariaDB runs when ``TEST_MYSQL_URL`` is set (e.g. ``mysql://root@127.0.0.1:3306/test``),
the same way: a fresh database of the suite's own on that server, ``REQUIRE_MYSQL=1`` to fail
instead of skipping.

With ``TEST_DATABASE_DIRECT_URL`` as well, ``TEST_DATABASE_URL`` is a PgBouncer in front of that
server: the application's settings get ``DB_PGBOUNCER=true`` and the direct URL (migrations,
and creating and dropping the scratch databases, go past PgBouncer).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from conduit.db import url as db_url
from conduit.db.engine import create_engine
from conduit.db.session import Database, make_sessionmaker
from conduit.http.app import create_app
from conduit.migrations import location as bundled_migrations
from conduit.settings import Settings, load_settings
from tests.scratch import Scratch, ScratchServer

# The checkout (tests, fixtures, scripts) and the package's own migrations folder.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS_DIR = bundled_migrations()
TEST_SECRET = "test-secret-key-with-enough-length-for-hs256"
GENEROUS_RATE = "100000/minute"
# Pool, lock, statement and request waits long enough for any burst a concurrency test fires,
# and one route may use the whole default pool (10 + 10 overflow): bursts of 20 share a route.
PATIENT_WAITS: dict[str, object] = {
    "db_pool_timeout": 30.0,
    "db_lock_timeout_ms": 30_000,
    "db_statement_timeout_ms": 30_000,
    "db_route_connections": 20,
    "request_timeout_s": 60.0,
}


def postgres_server_url() -> URL | None:
    raw = os.environ.get("TEST_DATABASE_URL")
    return db_url.parse(raw) if raw else None


def postgres_direct_url() -> URL | None:
    raw = os.environ.get("TEST_DATABASE_DIRECT_URL")
    return db_url.parse(raw) if raw else None


def _behind_pgbouncer(database_url: str) -> dict[str, object]:
    """The settings for ``database_url`` when the suite runs through PgBouncer."""
    direct = postgres_direct_url()
    url = db_url.parse(database_url)
    if direct is None or url.get_backend_name() != "postgresql":
        return {}
    direct_url = direct.set(database=url.database)
    return {
        "db_pgbouncer": True,
        "database_direct_url": direct_url.render_as_string(hide_password=False),
    }


def postgres_required() -> bool:
    return os.environ.get("REQUIRE_POSTGRES") == "1"


def dialects() -> list[str]:
    if postgres_server_url() is None and postgres_required():
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
    return ["sqlite", "postgresql"] if postgres_server_url() is not None else ["sqlite"]


def mysql_server_url() -> URL | None:
    raw = os.environ.get("TEST_MYSQL_URL")
    return db_url.parse(raw) if raw else None


def mysql_required() -> bool:
    return os.environ.get("REQUIRE_MYSQL") == "1"


def _with_mysql(names: list[str]) -> list[str]:
    if mysql_server_url() is None and mysql_required():
        raise pytest.UsageError("REQUIRE_MYSQL=1 but TEST_MYSQL_URL is not set")
    return [*names, "mysql"] if mysql_server_url() is not None else names


def make_settings(database_url: str | URL, **overrides: object) -> Settings:
    if isinstance(database_url, URL):
        database_url = database_url.render_as_string(hide_password=False)
    return load_settings(
        _env_file=None,
        database_url=database_url,
        environment="test",
        # Every unit of work in the suite fails on an N+1 pattern. The abuse limits stay on but
        # out of reach; tests of the limits set their own.
        **{
            "secret_key": TEST_SECRET,
            "n1_strict": True,
            "rate_limit_login_account": GENEROUS_RATE,
            "rate_limit_login_address": GENEROUS_RATE,
            "rate_limit_register_address": GENEROUS_RATE,
            **_behind_pgbouncer(database_url),
            **overrides,
        },
    )


@asynccontextmanager
async def asgi_client(app: FastAPI, **transport: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client that calls ``app`` in-process; ``transport``: more ``ASGITransport`` options."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, **transport), base_url="http://conduit.test"
    ) as client:
        yield client


def patient_app(database: Database) -> FastAPI:
    """The app on a committing ``database``, as patient as any burst a concurrency test fires."""
    return create_app(make_settings(database.engine.url, **PATIENT_WAITS), database=database)


def scratch_servers() -> dict[str, ScratchServer]:
    """The servers that scratch databases are made on, per configured server dialect."""
    servers: dict[str, ScratchServer] = {}
    postgres = postgres_server_url()
    if postgres is not None:
        servers["postgresql"] = ScratchServer(
            url=postgres, admin=postgres_direct_url(), required=postgres_required()
        )
    mysql = mysql_server_url()
    if mysql is not None:
        servers["mysql"] = ScratchServer(url=mysql, admin=None, required=mysql_required())
    return servers


@pytest.fixture(scope="session")
def scratch_databases(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    """The factory of databases of a test's own (``tests/scratch.py``)."""
    return Scratch(
        tmp=tmp_path_factory,
        servers=scratch_servers(),
        settings=make_settings,
        migrations_dir=MIGRATIONS_DIR,
    )


@pytest.fixture(scope="session", params=_with_mysql(dialects()))
async def migrated_url(
    request: pytest.FixtureRequest, scratch_databases: Scratch
) -> AsyncIterator[URL]:
    """A database migrated to head, shared by the tests of one dialect."""
    async with scratch_databases.url(request.param) as url:
        yield url


@pytest.fixture(scope="module", params=_with_mysql(dialects()))
async def own_database(
    request: pytest.FixtureRequest, scratch_databases: Scratch
) -> AsyncIterator[Database]:
    """A migrated database of each dialect that only the test module writes to, whose units
    of work commit (the per-test fixtures below roll every test back instead)."""
    async with scratch_databases.database(request.param) as database:
        yield database


@pytest.fixture(scope="module")
async def committing_database(scratch_databases: Scratch) -> AsyncIterator[Database]:
    """A migrated PostgreSQL database of the test module's own, whose units of work commit.

    For tests of real concurrency: the per-test fixtures run everything on one connection
    inside one transaction, which cannot race. Its waits are patient: these tests prove
    invariants under bursts larger than a shared test machine serves within the production
    bounds, which have tests of their own (tests/integration/test_bounded_waits.py).
    """
    async with scratch_databases.database("postgresql", settings=PATIENT_WAITS) as database:
        yield database


@pytest.fixture(scope="module")
async def mysql_committing_database(scratch_databases: Scratch) -> AsyncIterator[Database]:
    """:func:`committing_database` on the MySQL/MariaDB server of ``TEST_MYSQL_URL``."""
    async with scratch_databases.database("mysql", settings=PATIENT_WAITS) as database:
        yield database


def racing_dialects() -> list[str]:
    """The servers the concurrency tests race on: PostgreSQL, and MySQL with TEST_MYSQL_URL."""
    return ["postgresql", *(["mysql"] if mysql_server_url() is not None else [])]


@pytest.fixture(scope="module", params=racing_dialects())
def racing_database(request: pytest.FixtureRequest) -> Database:
    """A committing database (:func:`committing_database`) on each server with row locks."""
    name = "committing_database" if request.param == "postgresql" else "mysql_committing_database"
    database: Database = request.getfixturevalue(name)
    return database


@pytest.fixture(scope="session")
def settings(migrated_url: URL) -> Settings:
    return make_settings(migrated_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database)
    yield engine
    await engine.dispose()


@pytest.fixture
def dialect(engine: AsyncEngine) -> str:
    return engine.dialect.name


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield conn
        finally:
            if outer.is_active:
                await outer.rollback()


@pytest.fixture
def database(engine: AsyncEngine, connection: AsyncConnection) -> Database:
    """The application's database, its sessions joined to the test's outer transaction."""
    return Database(engine, factory=make_sessionmaker(connection))


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's DATABASE_URL must not leak into settings the tests build.
    monkeypatch.delenv("DATABASE_URL", raising=False)
