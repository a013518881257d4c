"""Real constraint violations and failures, translated once into the named error tree.

Each test runs inside the shared database's rolled-back outer transaction: a failed unit of work
rolls back only its savepoint, so the test can carry on (and check that it can).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from conduit.db.engine import create_engine
from conduit.db.errors import (
    Busy,
    CheckViolation,
    Conflict,
    DatabaseError,
    ForeignKeyViolation,
    IntegrityError,
    NotFound,
    NotNullViolation,
    PoolTimeout,
    QueryTimeout,
    Retryable,
    SerializationFailure,
    Unavailable,
)
from conduit.db.session import Database
from conduit.domain.articles.models import Article
from conduit.domain.credits.models import CreditTransfer
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.users.models import User
from tests.conftest import make_settings


def new_user(name: str | None = None, **fields: Any) -> User:
    name = name or f"u{uuid.uuid4().hex[:12]}"
    return User(email=f"{name}@example.com", username=name, password_hash="x", **fields)


async def add(database: Database, *rows: object) -> None:
    async with database.unit_of_work() as session:
        session.add_all(rows)


async def run(database: Database, work: Callable[[AsyncSession], Any]) -> None:
    async with database.unit_of_work() as session:
        await work(session)


async def test_a_duplicate_email_is_a_conflict_naming_the_unique_constraint(
    database: Database,
) -> None:
    await add(database, new_user("alice"))
    with pytest.raises(Conflict) as caught:
        await add(database, User(email="alice@example.com", username="alice2", password_hash="x"))
    assert caught.value.constraint == "uq_users_email"
    # Messages never carry parameter values.
    assert "alice@example.com" not in caught.value.message
    assert isinstance(caught.value, IntegrityError)


async def test_a_duplicate_username_names_its_own_constraint(database: Database) -> None:
    await add(database, new_user("bob"))
    with pytest.raises(Conflict) as caught:
        await add(database, User(email="other@example.com", username="bob", password_hash="x"))
    assert caught.value.constraint == "uq_users_username"


async def test_a_duplicate_composite_primary_key_is_a_conflict(database: Database) -> None:
    alice, bob = new_user(), new_user()
    await add(database, alice, bob)
    await add(database, Follow(follower_id=alice.id, followee_id=bob.id))
    with pytest.raises(Conflict) as caught:
        await add(database, Follow(follower_id=alice.id, followee_id=bob.id))
    assert caught.value.constraint == "pk_follows"


def article(author: User, slug: str) -> Article:
    return Article(slug=slug, title="T", description="D", body="B", author_id=author.id)


async def test_a_duplicate_live_slug_names_the_partial_unique_index(database: Database) -> None:
    author = new_user()
    await add(database, author)
    await add(database, article(author, "hello"))
    with pytest.raises(Conflict) as caught:
        await add(database, article(author, "hello"))
    assert caught.value.constraint == "uq_articles_slug"


async def test_a_missing_referenced_row_is_a_foreign_key_violation(
    database: Database, dialect: str
) -> None:
    with pytest.raises(ForeignKeyViolation) as caught:
        await add(database, Profile(user_id=uuid.uuid4()))
    # SQLite does not say which foreign key failed.
    expected = "fk_profiles_user_id_users" if dialect != "sqlite" else None
    assert caught.value.constraint == expected


async def test_negative_credits_are_a_check_violation(database: Database) -> None:
    with pytest.raises(CheckViolation) as caught:
        await add(database, new_user(credits=-1))
    assert caught.value.constraint == "ck_users_credits_non_negative"


async def test_other_check_constraints_are_named_too(database: Database) -> None:
    alice, bob = new_user(), new_user()
    await add(database, alice, bob)
    with pytest.raises(CheckViolation) as self_follow:
        await add(database, Follow(follower_id=alice.id, followee_id=alice.id))
    assert self_follow.value.constraint == "ck_follows_no_self_follow"
    with pytest.raises(CheckViolation) as zero_transfer:
        await add(database, CreditTransfer(from_user_id=alice.id, to_user_id=bob.id, amount=0))
    assert zero_transfer.value.constraint == "ck_credit_transfers_amount_positive"


async def test_a_null_in_a_required_column_is_a_not_null_violation(database: Database) -> None:
    with pytest.raises(NotNullViolation):
        await add(database, User(email="n@example.com", username="n", password_hash=None))


async def test_a_required_row_that_is_missing_is_not_found(database: Database) -> None:
    async def one_missing(session: AsyncSession) -> None:
        (await session.execute(select(User).where(User.username == "nobody"))).scalar_one()

    async def get_missing(session: AsyncSession) -> None:
        await session.get_one(User, uuid.uuid4())

    with pytest.raises(NotFound):
        await run(database, one_missing)
    with pytest.raises(NotFound):
        await run(database, get_missing)


async def test_the_transaction_goes_on_after_a_translated_error(database: Database) -> None:
    await add(database, new_user("carol"))
    with pytest.raises(Conflict):
        await add(database, new_user("carol"))
    # Only the failed unit of work's savepoint was rolled back: earlier work is intact.
    await add(database, new_user("dave"))
    async with database.unit_of_work() as session:
        names = await session.scalars(
            select(User.username).where(User.username.in_(["carol", "dave"]))
        )
        assert sorted(names) == ["carol", "dave"]


async def test_an_unknown_table_is_a_plain_database_error(database: Database) -> None:
    async def query_nothing(session: AsyncSession) -> None:
        await session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(DatabaseError) as caught:
        await run(database, query_nothing)
    assert type(caught.value) is DatabaseError


@pytest.mark.postgres_only
async def test_a_statement_past_the_timeout_is_a_query_timeout(
    database: Database, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("statement_timeout is a PostgreSQL setting")

    async def sleep_past_the_timeout(session: AsyncSession) -> None:
        await session.execute(text("SET LOCAL statement_timeout = 50"))
        await session.execute(text("SELECT pg_sleep(2)"))

    with pytest.raises(QueryTimeout):
        await run(database, sleep_past_the_timeout)


@pytest.mark.postgres_only
async def test_a_connection_killed_mid_transaction_is_unavailable(
    engine: AsyncEngine, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("needs pg_terminate_backend")
    database = Database(engine)

    async def get_killed(session: AsyncSession) -> None:
        pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await session.execute(text("SELECT 1"))

    with pytest.raises(Unavailable):
        await run(database, get_killed)
    # The pool dropped the dead connection; the next unit of work gets a live one.
    async with database.unit_of_work() as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


async def test_an_exhausted_pool_is_a_pool_timeout(migrated_url: Any, dialect: str) -> None:
    if dialect == "sqlite":
        pytest.skip("SQLite engines use no bounded pool")
    settings = make_settings(migrated_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2)
    database = Database.from_config(settings.database)
    try:
        async with database.engine.connect():  # holds the only connection

            async def query(session: AsyncSession) -> None:
                await session.execute(text("SELECT 1"))

            with pytest.raises(PoolTimeout, match="pool") as caught:
                await run(database, query)
            assert isinstance(caught.value, Busy)
    finally:
        await database.dispose()


async def test_a_locked_sqlite_database_is_retryable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    config = make_settings(url, db_lock_timeout_ms=100).database
    writer, blocked = create_engine(config), Database.from_config(config)
    try:
        async with writer.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with writer.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock

            async def insert(session: AsyncSession) -> None:
                await session.execute(text("INSERT INTO t VALUES (2)"))

            with pytest.raises(SerializationFailure) as caught:
                await run(blocked, insert)
            assert isinstance(caught.value, Retryable)
    finally:
        await writer.dispose()
        await blocked.dispose()


async def test_concurrent_units_of_work_on_postgres_get_a_conflict_not_a_hang(
    migrated_url: Any, dialect: str
) -> None:
    """Two transactions insert the same email: the second waits, then gets Conflict."""
    if dialect == "sqlite":
        pytest.skip("SQLite serialises writers instead")
    engine = create_async_engine(migrated_url)
    database = Database(engine)
    name = f"race{uuid.uuid4().hex[:8]}"
    first_inserted = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with database.unit_of_work() as session:
            session.add(new_user(name))
            await session.flush()
            first_inserted.set()
            await release_first.wait()

    async def second() -> None:
        await first_inserted.wait()
        async with database.unit_of_work() as session:
            session.add(new_user(name))
            asyncio.get_running_loop().call_later(0.2, release_first.set)

    try:
        results = await asyncio.wait_for(
            asyncio.gather(first(), second(), return_exceptions=True), timeout=10
        )
        assert results[0] is None
        assert isinstance(results[1], Conflict)
    finally:
        async with engine.begin() as conn:
            users: Table = User.__table__  # type: ignore[assignment]
            await conn.execute(users.delete().where(users.c.username == name))
        await engine.dispose()
