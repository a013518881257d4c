"""Engines built from the config: server settings, pool, PgBouncer mode, SQLite pragmas."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.db.engine import create_engine
from conduit.db.errors import ForeignKeyViolation
from conduit.db.session import Database
from conduit.domain.profiles.models import Follow
from tests.conftest import make_settings


@pytest.fixture
async def sqlite_file_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(make_settings(f"sqlite:///{tmp_path / 'e.db'}").database)
    yield engine
    await engine.dispose()


async def scalar(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def test_postgres_sessions_carry_the_server_settings(migrated_url: URL, dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("asyncpg server settings")
    settings = make_settings(migrated_url, db_statement_timeout_ms=1234, db_lock_timeout_ms=567)
    engine = create_engine(settings.database)
    try:
        assert await scalar(engine, "SHOW application_name") == "conduit"
        assert await scalar(engine, "SHOW jit") == "off"
        assert await scalar(engine, "SHOW statement_timeout") == "1234ms"
        assert await scalar(engine, "SHOW lock_timeout") == "567ms"
    finally:
        await engine.dispose()


async def test_the_default_waits_are_bounded_on_every_connection_path(
    migrated_url: URL, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("asyncpg server settings")
    database = Database.from_config(make_settings(migrated_url).database)
    try:
        # Startup parameters, so they hold in autocommit reads as in write transactions.
        for unit in (database.reader, database.unit_of_work):
            async with unit() as session:
                shown = (await session.execute(text("SHOW lock_timeout"))).scalar_one()
                assert shown == "2s"
                shown = (await session.execute(text("SHOW statement_timeout"))).scalar_one()
                assert shown == "5s"
        assert database.engine.pool.timeout() == 2.0  # type: ignore[attr-defined]  # QueuePool
        assert database.bulkhead is not None
        assert database.bulkhead.limit == 15  # three quarters of 20 + 0
    finally:
        await database.dispose()


async def test_sqlite_waits_for_a_writer_as_long_as_the_lock_timeout(tmp_path: Path) -> None:
    engine = create_engine(
        make_settings(f"sqlite:///{tmp_path / 'w.db'}", db_lock_timeout_ms=750).database
    )
    try:
        assert await scalar(engine, "PRAGMA busy_timeout") == 750
        assert engine.pool.timeout() == 2.0  # type: ignore[attr-defined]  # a QueuePool
    finally:
        await engine.dispose()


async def test_postgres_pool_follows_the_config(migrated_url: URL, dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("SQLite engines keep SQLAlchemy's default pool")
    config = make_settings(migrated_url, db_pool_size=3, db_max_overflow=2).database
    engine = create_engine(config)
    try:
        pool: Any = engine.pool
        assert pool.size() == 3
        assert pool._max_overflow == 2
        assert pool._recycle == config.pool_recycle
    finally:
        await engine.dispose()


async def _terminate_pooled_backend(engine: AsyncEngine) -> int:
    """Kill the server process behind the engine's one pooled connection; returns its pid."""
    pid = await scalar(engine, "SELECT pg_backend_pid()")
    async with create_engine(make_settings(engine.url).database).connect() as other:
        killed = await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert killed.scalar_one() is True
    return int(pid)


async def test_a_connection_closed_while_idle_is_replaced_before_use(
    migrated_url: URL, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("the idle ping is for PostgreSQL")
    config = make_settings(migrated_url, db_pool_size=1, db_pool_ping_idle_s=0.2).database
    engine = create_engine(config)
    try:
        old_pid = await _terminate_pooled_backend(engine)
        await asyncio.sleep(0.3)
        # Idle past the threshold: pinged, found dead, replaced; the request never sees it.
        assert await scalar(engine, "SELECT pg_backend_pid()") != old_pid
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(migrated_url: URL, dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("the idle ping is for PostgreSQL")
    config = make_settings(migrated_url, db_pool_size=1, db_pool_ping_idle_s=3600).database
    engine = create_engine(config)
    try:
        old_pid = await _terminate_pooled_backend(engine)
        # Used a moment ago, so not pinged: the statement meets the closed connection.
        with pytest.raises(DBAPIError) as caught:
            await scalar(engine, "SELECT 1")
        assert caught.value.connection_invalidated
        # The failure invalidated the pool: the next checkout connects afresh.
        assert await scalar(engine, "SELECT pg_backend_pid()") != old_pid
    finally:
        await engine.dispose()


async def test_pgbouncer_mode_runs_repeated_statements(migrated_url: URL, dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("PgBouncer mode is for PostgreSQL")
    engine = create_engine(make_settings(migrated_url, db_pgbouncer=True).database)
    try:
        async with engine.connect() as conn:
            for n in range(3):
                # The same statement again: with the statement cache off it is prepared anew
                # under a fresh name each time, as a transaction-mode pooler needs.
                result = await conn.execute(text("SELECT :n + 1"), {"n": n})
                assert result.scalar_one() == n + 1
    finally:
        await engine.dispose()


async def test_an_engine_for_a_replica_url_connects_there(migrated_url: URL) -> None:
    config = make_settings("sqlite:///never-used.db").database
    engine = create_engine(config, url=migrated_url)
    try:
        assert engine.url == migrated_url
        assert await scalar(engine, "SELECT count(*) FROM alembic_version") == 1
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced_on_both_dialects(database: Database, dialect: str) -> None:
    if dialect == "sqlite":
        # SQLite ignores foreign keys unless each connection switches them on.
        assert await scalar(database.engine, "PRAGMA foreign_keys") == 1

    async def orphan_follow() -> None:
        async with database.unit_of_work() as session:
            session.add(Follow(follower_id=uuid.uuid4(), followee_id=uuid.uuid4()))

    with pytest.raises(ForeignKeyViolation):
        await orphan_follow()


async def test_a_sqlite_file_uses_wal(sqlite_file_engine: AsyncEngine) -> None:
    assert await scalar(sqlite_file_engine, "PRAGMA journal_mode") == "wal"
    assert await scalar(sqlite_file_engine, "PRAGMA synchronous") == 1  # NORMAL


async def test_in_memory_sqlite_does_not_ask_for_wal() -> None:
    engine = create_engine(make_settings("sqlite+aiosqlite:///:memory:").database)
    try:
        assert await scalar(engine, "PRAGMA journal_mode") == "memory"
        assert await scalar(engine, "PRAGMA foreign_keys") == 1
    finally:
        await engine.dispose()


async def test_sqlite_savepoints_roll_back_only_their_part(
    sqlite_file_engine: AsyncEngine,
) -> None:
    # pysqlite's own transaction handling would break SAVEPOINT; the engine turns it off.
    async with sqlite_file_engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    async with sqlite_file_engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (1)"))
        nested = await conn.begin_nested()
        await conn.execute(text("INSERT INTO t VALUES (2)"))
        await nested.rollback()
        await conn.execute(text("INSERT INTO t VALUES (3)"))
    async with sqlite_file_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT x FROM t ORDER BY x"))).scalars().all()
    assert rows == [1, 3]


async def test_sqlite_rolls_back_an_uncommitted_transaction(
    sqlite_file_engine: AsyncEngine,
) -> None:
    async with sqlite_file_engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    async with sqlite_file_engine.connect() as conn:
        await conn.execute(text("INSERT INTO t VALUES (1)"))
        await conn.rollback()
    assert await scalar(sqlite_file_engine, "SELECT count(*) FROM t") == 0
