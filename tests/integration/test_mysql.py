"""MySQL/MariaDB specifics on a real server: sessions, errors by number, migrations, case rules.

Each test gets a database of its own on ``TEST_MYSQL_URL``'s server (skipped without it; under
``REQUIRE_MYSQL=1`` an unusable server fails). The suite's shared fixtures run every other
integration test on MySQL as well.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import nullcontext

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from typer.testing import Result

from conduit.db.engine import create_engine
from conduit.db.errors import (
    Conflict,
    LockTimeout,
    QueryTimeout,
    SerializationFailure,
    Unavailable,
)
from conduit.db.migrations import DriftDetected, MigrationError, Migrations
from conduit.db.model import uuid7
from conduit.db.retry import run_retrying
from conduit.db.session import Database
from conduit.domain.schema import metadata
from conduit.domain.users.models import User
from tests.conftest import MIGRATIONS_DIR, make_settings
from tests.integration.cli.support import conduit
from tests.integration.test_migrations import (
    backfills_favorites_per_article,
    upgrade_from_processes,
)
from tests.scratch import Scratch

EVERY_TABLE = set(metadata.tables)


@pytest.fixture
async def empty_url(scratch_databases: Scratch) -> AsyncIterator[URL]:
    async with scratch_databases.url("mysql", prefix="conduit_mysql", migrated=False) as url:
        yield url


@pytest.fixture
def migrations(empty_url: URL) -> Migrations:
    return Migrations(make_settings(empty_url).database, script_location=MIGRATIONS_DIR)


@pytest.fixture
async def migrated_engine(empty_url: URL, migrations: Migrations) -> AsyncIterator[AsyncEngine]:
    """The application's engine on a migrated database whose transactions commit."""
    await migrations.upgrade()
    engine = create_engine(make_settings(empty_url, db_lock_timeout_ms=1000).database)
    yield engine
    await engine.dispose()


async def tables(url: URL) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def execute(url: URL, sql: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def new_user(name: str) -> User:
    return User(email=f"{name}@example.com", username=name, password_hash="x")


# --- sessions -------------------------------------------------------------------------------


async def test_every_connection_is_strict_utf8mb4_utc_read_committed_with_bounded_waits(
    empty_url: URL,
) -> None:
    config = make_settings(
        empty_url, db_lock_timeout_ms=1500, db_statement_timeout_ms=2500
    ).database
    engine = create_engine(config)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT @@sql_mode, @@time_zone, @@character_set_connection,"
                        " @@innodb_lock_wait_timeout, @@tx_isolation, @@version"
                    )
                )
            ).one()
            mariadb = "mariadb" in row[5].lower()
            limit = "@@max_statement_time" if mariadb else "@@max_execution_time"
            statement_limit = (await conn.execute(text(f"SELECT {limit}"))).scalar_one()
    finally:
        await engine.dispose()
    sql_mode, time_zone, charset, lock_wait, isolation, _version = row
    assert {"STRICT_ALL_TABLES", "ONLY_FULL_GROUP_BY", "NO_ZERO_DATE"} <= set(sql_mode.split(","))
    assert (time_zone, charset, isolation) == ("+00:00", "utf8mb4", "READ-COMMITTED")
    assert lock_wait == 2  # whole seconds, rounded up
    assert float(statement_limit) == (2.5 if mariadb else 2500)


async def test_a_statement_past_the_limit_is_a_query_timeout(empty_url: URL) -> None:
    engine = create_engine(make_settings(empty_url, db_statement_timeout_ms=200).database)
    try:
        with pytest.raises(QueryTimeout):
            async with Database(engine).unit_of_work() as session:
                # SLEEP() returns 1 when interrupted on MySQL; a scan of a big join cannot.
                await session.execute(
                    text(
                        "SELECT count(*) FROM information_schema.columns a,"
                        " information_schema.columns b, information_schema.columns c"
                    )
                )
    finally:
        await engine.dispose()


async def test_a_killed_connection_is_unavailable_and_the_pool_recovers(empty_url: URL) -> None:
    engine = create_engine(make_settings(empty_url).database)
    database = Database(engine)

    async def get_killed(session: AsyncSession) -> None:
        own = (await session.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
        async with engine.connect() as other:
            await other.execute(text(f"KILL CONNECTION {int(own)}"))
        await session.execute(text("SELECT 1"))

    try:
        with pytest.raises(Unavailable):
            async with database.unit_of_work() as session:
                await get_killed(session)
        async with database.unit_of_work() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_an_unreachable_server_is_unavailable_without_the_password() -> None:
    config = make_settings("mysql://conduit:hunter2@127.0.0.1:1/conduit").database
    engine = create_engine(config)
    try:
        with pytest.raises(Unavailable) as caught:
            async with Database(engine).unit_of_work() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert "hunter2" not in caught.value.message


# --- errors by number -----------------------------------------------------------------------


async def test_a_lock_wait_past_innodb_lock_wait_timeout_is_a_lock_timeout(
    migrated_engine: AsyncEngine,
) -> None:
    async with migrated_engine.begin() as conn:
        await conn.execute(insert(User).values(id=uuid7(), **_fields("holder")))
    async with migrated_engine.connect() as holder:
        await holder.execute(text("SELECT id FROM users FOR UPDATE"))
        with pytest.raises(LockTimeout) as caught:
            async with Database(migrated_engine).unit_of_work() as session:
                await session.execute(text("UPDATE users SET credits = credits + 1"))
        assert "1205" in caught.value.message
        await holder.rollback()


async def test_a_deadlock_is_retryable_and_run_retrying_gets_through(
    migrated_engine: AsyncEngine,
) -> None:
    first, second = uuid7(), uuid7()
    async with migrated_engine.begin() as conn:
        for key, name in ((first, "first"), (second, "second")):
            await conn.execute(insert(User).values(id=key, **_fields(name)))
    database = Database(migrated_engine)
    both_locked = asyncio.Barrier(2)
    attempts = {"a": 0, "b": 0}

    def crossing(name: str, mine: uuid.UUID, theirs: uuid.UUID):
        async def work(session: AsyncSession) -> None:
            attempts[name] += 1
            await session.execute(_add_credit(), {"id": mine.bytes})
            if attempts[name] == 1:
                await both_locked.wait()  # each holds its own row: the next lock crosses
            await session.execute(_add_credit(), {"id": theirs.bytes})

        return work

    await asyncio.wait_for(
        asyncio.gather(
            run_retrying(database, crossing("a", first, second), attempts=5),
            run_retrying(database, crossing("b", second, first), attempts=5),
        ),
        timeout=30,
    )
    # InnoDB chose one victim (SerializationFailure, retried); both transfers landed.
    assert sorted(attempts.values()) == [1, 2]
    async with migrated_engine.connect() as conn:
        credits = (await conn.execute(text("SELECT credits FROM users"))).scalars().all()
    assert list(credits) == [2, 2]


@pytest.mark.parametrize("in_savepoint", [False, True], ids=["transaction", "savepoint"])
async def test_a_deadlock_is_a_serialization_failure(
    migrated_engine: AsyncEngine, in_savepoint: bool
) -> None:
    # In a savepoint the deadlock rolls the victim's whole transaction back, so rolling back to
    # the savepoint fails (1305 "savepoint does not exist"): the caller still learns of the
    # deadlock.
    first, second = uuid7(), uuid7()
    async with migrated_engine.begin() as conn:
        for key, name in ((first, "f"), (second, "s")):
            await conn.execute(insert(User).values(id=key, **_fields(name)))
    barrier = asyncio.Barrier(2)
    database = Database(migrated_engine)

    async def cross(mine: uuid.UUID, theirs: uuid.UUID) -> None:
        async with (
            database.unit_of_work() as session,
            session.begin_nested() if in_savepoint else nullcontext(),
        ):
            await session.execute(_add_credit(), {"id": mine.bytes})
            await barrier.wait()
            await session.execute(_add_credit(), {"id": theirs.bytes})

    results = await asyncio.wait_for(
        asyncio.gather(cross(first, second), cross(second, first), return_exceptions=True),
        timeout=30,
    )
    failures = [r for r in results if r is not None]
    assert len(failures) == 1
    assert isinstance(failures[0], SerializationFailure)
    assert "1213" in failures[0].message


def _add_credit():
    return text("UPDATE users SET credits = credits + 1 WHERE id = :id")


def _fields(name: str) -> dict[str, str]:
    return {"email": f"{name}@example.com", "username": name, "password_hash": "x"}


# --- case rules, keys, times ----------------------------------------------------------------


async def test_usernames_and_emails_compare_as_on_postgresql(
    migrated_engine: AsyncEngine,
) -> None:
    """Case and trailing spaces count: the servers' default collations would fold both."""
    database = Database(migrated_engine)
    for name in ("alice", "Alice", "alice "):
        async with database.unit_of_work() as session:
            session.add(User(email=f"{name}@example.com", username=name, password_hash="x"))
    with pytest.raises(Conflict) as caught:
        async with database.unit_of_work() as session:
            session.add(User(email="other@example.com", username="Alice", password_hash="x"))
    assert caught.value.constraint == "uq_users_username"
    async with database.unit_of_work() as session:
        found = await session.scalars(select(User.username).where(User.username == "alice"))
        assert list(found) == ["alice"]


async def test_uuid7_keys_are_16_bytes_in_creation_order_and_times_are_utc_microseconds(
    migrated_engine: AsyncEngine,
) -> None:
    database = Database(migrated_engine)
    created = [new_user(f"u{n}") for n in range(5)]
    async with database.unit_of_work() as session:
        session.add_all(created)
    async with database.unit_of_work() as session:
        rows = (await session.execute(select(User.id, User.created_at).order_by(User.id))).all()
        raw = (
            await session.execute(text("SELECT LENGTH(id), created_at FROM users ORDER BY id"))
        ).all()
    assert [row.id for row in rows] == [user.id for user in created]
    assert {length for length, _ in raw} == {16}
    now = dt.datetime.now(dt.UTC)
    for row, (_, stored) in zip(rows, raw, strict=True):
        # Stored as naive UTC, read back aware, to the microsecond.
        assert row.created_at.tzinfo is dt.UTC
        assert row.created_at == stored.replace(tzinfo=dt.UTC)
        assert abs(now - row.created_at) < dt.timedelta(minutes=1)


# --- migrations -----------------------------------------------------------------------------


async def test_round_trip_upgrade_downgrade_upgrade_then_no_drift(
    migrations: Migrations, empty_url: URL
) -> None:
    await migrations.upgrade()
    assert await tables(empty_url) == EVERY_TABLE | {"alembic_version"}
    await migrations.check()
    await migrations.downgrade("base")
    assert await tables(empty_url) <= {"alembic_version"}
    await migrations.upgrade()
    await migrations.check()


async def test_the_favorites_revision_counts_each_articles_favorites_in_batches(
    migrations: Migrations, empty_url: URL
) -> None:
    await backfills_favorites_per_article(migrations, empty_url)


async def test_a_dropped_index_is_drift(migrations: Migrations, empty_url: URL) -> None:
    await migrations.upgrade()
    await execute(empty_url, "DROP INDEX ix_articles_fulltext ON articles")
    with pytest.raises(DriftDetected, match="ix_articles_fulltext"):
        await migrations.check()


async def test_a_live_slug_is_unique_and_a_deleted_article_frees_it(
    migrated_engine: AsyncEngine,
) -> None:
    author = uuid7()
    add_hello = text(
        "INSERT INTO articles (id, slug, title, description, body, author_id)"
        " VALUES (:id, 'hello', 't', 'd', 'b', :author)"
    )
    async with migrated_engine.begin() as conn:
        await conn.execute(insert(User).values(id=author, **_fields("writer")))
        await conn.execute(add_hello, {"id": uuid7().bytes, "author": author.bytes})
    with pytest.raises(Conflict) as caught:
        async with Database(migrated_engine).unit_of_work() as session:
            await session.execute(add_hello, {"id": uuid7().bytes, "author": author.bytes})
    assert caught.value.constraint == "uq_articles_slug"
    async with migrated_engine.begin() as conn:
        await conn.execute(text("UPDATE articles SET deleted_at = UTC_TIMESTAMP(6)"))
        await conn.execute(add_hello, {"id": uuid7().bytes, "author": author.bytes})


async def test_concurrent_upgrades_take_turns_under_get_lock(
    migrations: Migrations, empty_url: URL
) -> None:
    await upgrade_from_processes(empty_url)
    state = await migrations.state()
    assert state.is_current
    await migrations.check()


async def test_an_upgrade_waits_while_another_session_holds_the_lock(
    migrations: Migrations, empty_url: URL
) -> None:
    engine = create_async_engine(empty_url)
    try:
        async with engine.connect() as holder:
            lock = "SELECT GET_LOCK(CONCAT('conduit-migrations:', DATABASE()), 0)"
            assert (await holder.execute(text(lock))).scalar_one() == 1
            upgrade = asyncio.create_task(migrations.upgrade())
            await asyncio.sleep(1.0)
            assert not upgrade.done()
            assert await tables(empty_url) == set()
            await holder.execute(
                text("SELECT RELEASE_LOCK(CONCAT('conduit-migrations:', DATABASE()))")
            )
            await asyncio.wait_for(upgrade, timeout=60)
    finally:
        await engine.dispose()
    assert (await migrations.state()).is_current


async def test_the_lock_is_released_after_a_failed_upgrade(migrations: Migrations) -> None:
    with pytest.raises(MigrationError):
        await migrations.upgrade("nosuchrev")
    await asyncio.wait_for(migrations.upgrade(), timeout=60)
    assert (await migrations.state()).is_current


# --- CLI ------------------------------------------------------------------------------------


def cli(url: URL, *args: str) -> Result:
    # In a thread: the command runs its own event loop.
    return conduit(url, *args)


async def test_db_check_reports_mariadb_or_mysql_at_head(
    migrations: Migrations, empty_url: URL
) -> None:
    await migrations.upgrade()
    result = await asyncio.to_thread(cli, empty_url, "db", "check", "--json")
    assert result.exit_code == 0, result.stderr
    assert '"dialect": "mysql"' in result.stdout
    assert '"status": "ok"' in result.stdout


async def test_db_analyze_finds_duplicate_and_redundant_indexes_only(
    migrations: Migrations, empty_url: URL
) -> None:
    await migrations.upgrade()
    clean = await asyncio.to_thread(cli, empty_url, "db", "analyze", "--json")
    assert clean.exit_code == 0, clean.stderr
    assert json.loads(clean.stdout)["summary"] == {"info": 0, "warning": 0, "error": 0}

    await execute(empty_url, "CREATE INDEX ix_copy ON comments (article_id)")
    await execute(empty_url, "CREATE INDEX ix_author_only ON articles (author_id)")
    result = await asyncio.to_thread(
        cli, empty_url, "db", "analyze", "--json", "--fail-on", "warning"
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["server"] in ("MariaDB", "MySQL")
    findings = [finding for section in report["sections"] for finding in section["findings"]]
    found = {(f["check"], f["object"], f["details"]["kept"]) for f in findings}
    assert found == {
        ("duplicate_index", "comments.ix_copy", "ix_comments_article_id"),
        ("redundant_index", "articles.ix_author_only", "ix_articles_author_created_at"),
    }
    assert any("DROP INDEX `ix_copy`" in (f["fix"] or "") for f in findings)
    # The table (its width is the terminal's) names the finding too.
    table = await asyncio.to_thread(cli, empty_url, "db", "analyze")
    assert table.exit_code == 0
    assert "ix_copy" in table.stdout


async def test_migrate_check_is_clean_and_sql_renders_mysql_ddl(
    migrations: Migrations, empty_url: URL
) -> None:
    await migrations.upgrade()
    check = await asyncio.to_thread(cli, empty_url, "migrate", "check")
    assert check.exit_code == 0, check.stderr
    rendered = await asyncio.to_thread(cli, empty_url, "migrate", "sql")
    assert rendered.exit_code == 0, rendered.stderr
    assert "id BINARY(16) NOT NULL" in rendered.stdout
    assert "CREATE FULLTEXT INDEX ix_articles_fulltext" in rendered.stdout
