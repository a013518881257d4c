"""The unit of work on a real engine: commit, rollback, closing, and error translation.

The commit and rollback tests need commits that really happen, so they run on a database of
their own (one per dialect for this module) instead of the shared, transaction-isolated one.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from conduit.db.errors import Conflict, DatabaseError, NotFound, Unavailable
from conduit.db.session import Database, make_sessionmaker, statement_stats, unit_of_work
from conduit.domain.users.models import User
from tests.conftest import (
    make_settings,
)
from tests.scratch import Scratch


def new_user(name: str | None = None) -> User:
    name = name or f"u{uuid.uuid4().hex[:12]}"
    return User(email=f"{name}@example.com", username=name, password_hash="x")


async def count_users(database: Database, username: str) -> int:
    async with database.unit_of_work() as session:
        query = select(func.count()).select_from(User).where(User.username == username)
        return (await session.execute(query)).scalar_one()


async def test_a_unit_of_work_commits_when_the_block_succeeds(own_database: Database) -> None:
    user = new_user()
    async with own_database.unit_of_work() as session:
        session.add(user)
    # A new unit of work (a new connection from the pool) sees the committed row.
    assert await count_users(own_database, user.username) == 1


async def test_the_commit_is_visible_to_another_engine(own_database: Database) -> None:
    user = new_user()
    async with own_database.unit_of_work() as session:
        session.add(user)
    other = Database(create_async_engine(own_database.engine.url))
    try:
        assert await count_users(other, user.username) == 1
    finally:
        await other.dispose()


async def test_a_unit_of_work_rolls_back_when_the_block_raises(own_database: Database) -> None:
    user = new_user()

    async def add_then_fail() -> None:
        async with own_database.unit_of_work() as session:
            session.add(user)
            await session.flush()  # the row reached the database inside the transaction
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await add_then_fail()
    assert await count_users(own_database, user.username) == 0


async def test_a_non_database_error_passes_through_untranslated(own_database: Database) -> None:
    class Refused(Exception):
        pass

    async def refuse() -> None:
        async with own_database.unit_of_work() as session:
            session.add(new_user())
            raise Refused

    with pytest.raises(Refused):
        await refuse()


async def test_an_os_error_of_the_block_itself_is_not_blamed_on_the_database(
    own_database: Database, tmp_path: Path
) -> None:
    user = new_user()

    async def add_then_read_a_missing_file() -> None:
        async with own_database.unit_of_work() as session:
            session.add(user)
            await session.flush()
            (tmp_path / "missing" / "file.txt").read_text()

    with pytest.raises(FileNotFoundError):
        await add_then_read_a_missing_file()
    assert await count_users(own_database, user.username) == 0


async def test_a_failed_commit_rolls_back_and_is_translated(own_database: Database) -> None:
    taken = new_user()
    async with own_database.unit_of_work() as session:
        session.add(taken)
    second = new_user()

    async def add_a_duplicate() -> None:
        async with own_database.unit_of_work() as session:
            session.add(second)
            # The duplicate reaches the database only in the flush that commit() runs.
            session.add(User(email=taken.email, username=f"x{second.username}", password_hash="x"))

    with pytest.raises(Conflict) as caught:
        await add_a_duplicate()
    assert caught.value.constraint == "uq_users_email"
    assert await count_users(own_database, second.username) == 0


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (None, None),
        (ValueError("inside the block"), ValueError),
        ("SELECT * FROM nope", DatabaseError),
    ],
)
async def test_the_session_is_always_closed(
    own_database: Database, failure: object, expected: type[Exception] | None
) -> None:
    pool = own_database.engine.pool
    caught: BaseException | None = None
    try:
        async with own_database.unit_of_work() as session:
            await session.execute(text("SELECT 1"))
            assert pool.checkedout() == 1  # type: ignore[attr-defined]
            if isinstance(failure, Exception):
                raise failure
            if isinstance(failure, str):
                await session.execute(text(failure))
    except Exception as exc:  # the test inspects whatever came out
        caught = exc
    if expected is None:
        assert caught is None
    else:
        assert isinstance(caught, expected)
    # The connection went back to the pool and the session holds no transaction.
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert not session.in_transaction()


async def test_no_result_found_becomes_not_found(own_database: Database) -> None:
    with pytest.raises(NotFound):
        async with own_database.unit_of_work() as session:
            (await session.execute(select(User).where(User.username == "nobody"))).scalar_one()


async def test_the_unit_of_work_counts_its_statements(own_database: Database) -> None:
    async with own_database.unit_of_work() as session:
        session.add(new_user())
        await session.flush()
        await session.execute(text("SELECT 1"))
        stats = statement_stats(session)
        assert stats is not None
        assert stats.count == 2


async def test_unit_of_work_takes_any_session_factory(own_database: Database) -> None:
    user = new_user()
    async with unit_of_work(own_database.sessions) as session:
        session.add(user)
    assert await count_users(own_database, user.username) == 1


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_postgres_server_is_unavailable() -> None:
    url = f"postgresql://conduit:hunter2@127.0.0.1:{closed_port()}/conduit"
    database = Database.from_config(make_settings(url, db_connect_timeout=2).database)
    try:
        with pytest.raises(Unavailable) as caught:
            async with database.unit_of_work() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await database.dispose()
    assert "cannot reach the database" in caught.value.message
    assert "hunter2" not in caught.value.message


async def test_a_missing_postgres_database_is_unavailable(
    scratch_databases: Scratch,
) -> None:
    # Created and dropped: the server is there, the database no longer is.
    async with scratch_databases.url("postgresql", prefix="conduit_missing", migrated=False) as url:
        pass
    database = Database.from_config(make_settings(url).database)
    try:
        with pytest.raises(Unavailable, match="does not exist"):
            async with database.unit_of_work() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await database.dispose()


async def test_an_unopenable_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'conduit.db'}"
    database = Database.from_config(make_settings(url).database)
    try:
        with pytest.raises(Unavailable):
            async with database.unit_of_work() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await database.dispose()


async def test_sessions_joined_to_an_outer_transaction_leave_nothing_behind(
    engine: AsyncEngine,
) -> None:
    """The isolation the test fixtures rely on: unit-of-work commits become savepoints."""
    user = new_user()
    async with engine.connect() as conn:
        outer = await conn.begin()
        joined = Database(engine, factory=make_sessionmaker(conn))
        async with joined.unit_of_work() as session:
            session.add(user)
        # Committed as far as the unit of work can tell, and visible inside the transaction.
        assert await count_users(joined, user.username) == 1
        await outer.rollback()
    assert await count_users(Database(engine), user.username) == 0


async def _two_transaction_starts(block) -> tuple[object, object]:
    async with block as session:
        first = (await session.execute(select(func.now()))).scalar_one()
        second = (await session.execute(select(func.now()))).scalar_one()
    return first, second


async def test_reads_on_postgresql_run_without_a_transaction(committing_database: Database) -> None:
    # now() is the start of the current transaction: inside one it stands still.
    first, second = await _two_transaction_starts(committing_database.unit_of_work())
    assert first == second
    # A reader's statements are transactions of their own: no BEGIN, no COMMIT around them.
    first, second = await _two_transaction_starts(committing_database.reader())
    assert first != second
    # Connections return to the pool transactional: units of work after readers keep theirs.
    for _ in range(3):
        await _two_transaction_starts(committing_database.reader())
        first, second = await _two_transaction_starts(committing_database.unit_of_work())
        assert first == second
