"""Statement accounting: what a unit of work sends, counted the same way on both dialects."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.db.engine import create_engine
from conduit.db.errors import DatabaseError
from conduit.db.instrument import NPlusOneDetected, install, track
from conduit.db.session import Database, statement_stats
from conduit.domain.users.models import User
from tests.conftest import make_settings
from tests.statements import assert_max_statements, count_statements


def new_user() -> User:
    name = f"u{uuid.uuid4().hex[:12]}"
    return User(email=f"{name}@example.com", username=name, password_hash="x")


async def test_track_counts_flushes_and_queries_but_not_savepoints(database: Database) -> None:
    with track() as stats:
        async with database.unit_of_work() as session:
            session.add(new_user())
            await session.flush()
            await session.execute(select(User.id).limit(1))
    # The unit of work runs in a savepoint here: SAVEPOINT / RELEASE are not counted.
    assert stats.count == 2
    assert stats.statements[0].lstrip().upper().startswith("INSERT INTO USERS")
    assert stats.statements[1].lstrip().upper().startswith("SELECT")
    assert not any("SAVEPOINT" in sql.upper() for sql in stats.statements)
    assert stats.seconds > 0


async def test_the_commit_flush_is_counted(database: Database) -> None:
    with track() as stats:
        async with database.unit_of_work() as session:
            session.add(new_user())  # no explicit flush: commit() flushes
    assert stats.count == 1


async def test_begin_is_not_counted_on_a_real_transaction(tmp_path: Path) -> None:
    # SQLite gets an explicit BEGIN from the engine (PostgreSQL's never passes the cursor).
    engine = create_engine(make_settings(f"sqlite:///{tmp_path / 'c.db'}").database)
    try:
        with track() as stats:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE t (x INTEGER)"))
                await conn.execute(text("INSERT INTO t VALUES (1)"))
        assert stats.count == 2
        assert not any(sql.upper().startswith("BEGIN") for sql in stats.statements)
    finally:
        await engine.dispose()


async def test_nested_tracks_count_into_every_level(database: Database) -> None:
    with track() as outer:
        async with database.unit_of_work() as session:
            await session.execute(text("SELECT 1"))
            with track() as inner:
                await session.execute(text("SELECT 2"))
                await session.execute(text("SELECT 3"))
            await session.execute(text("SELECT 4"))
    assert inner.count == 2
    assert outer.count == 4


async def test_the_unit_of_work_exposes_its_own_stats(database: Database) -> None:
    with track() as outer:
        async with database.unit_of_work() as session:
            await session.execute(text("SELECT 1"))
            await session.execute(text("SELECT 2"))
            own = statement_stats(session)
    assert own is not None
    assert own.count == 2
    assert outer.count == 2


async def test_a_failing_statement_is_counted(database: Database) -> None:
    async def fail() -> None:
        async with database.unit_of_work() as session:
            await session.execute(text("SELECT * FROM no_such_table"))

    with track() as stats, pytest.raises(DatabaseError):
        await fail()
    assert stats.count == 1


async def test_statements_outside_a_track_are_not_counted(database: Database) -> None:
    async with database.unit_of_work() as session:
        await session.execute(text("SELECT 1"))
    with track() as stats:
        pass
    assert stats.count == 0


async def test_install_is_idempotent_and_keeps_the_engine_config(
    engine: AsyncEngine, database: Database
) -> None:
    install(engine)
    install(engine)
    with track() as stats:
        async with database.unit_of_work() as session:
            await session.execute(text("SELECT 1"))
    assert stats.count == 1

    # Re-installing without a config must not switch off the suite's strict N+1 detection.
    async def repeat_eleven_times() -> None:
        async with database.unit_of_work() as session:
            for _ in range(11):
                await session.execute(text("SELECT 1"))

    with pytest.raises(NPlusOneDetected):
        await repeat_eleven_times()


async def test_assert_max_statements_fails_listing_the_statements(database: Database) -> None:
    async def three_queries() -> None:
        with assert_max_statements(2):
            async with database.unit_of_work() as session:
                for n in range(3):
                    await session.execute(text(f"SELECT {n}"))

    with pytest.raises(AssertionError, match="expected at most 2 statements, got 3") as caught:
        await three_queries()
    assert "3. SELECT 2" in str(caught.value)


async def test_count_statements_records_without_asserting(database: Database) -> None:
    with count_statements() as stats:
        async with database.unit_of_work() as session:
            await session.execute(text("SELECT 1"))
    assert stats.count == 1
