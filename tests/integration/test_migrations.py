"""The migration facade, each test on a fresh database of its own (SQLite file or PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db import url as db_url
from conduit.db.config import DatabaseConfig
from conduit.db.errors import Unavailable
from conduit.db.migrations import DriftDetected, MigrationError, Migrations
from conduit.domain.schema import metadata
from tests.conftest import (
    MIGRATIONS_DIR,
    dialects,
    make_settings,
)
from tests.scratch import Scratch

EVERY_TABLE = set(metadata.tables)


@pytest.fixture(params=dialects())
async def fresh_url(
    request: pytest.FixtureRequest, scratch_databases: Scratch
) -> AsyncIterator[URL]:
    """An empty database, dropped after the test."""
    async with scratch_databases.url(
        request.param, prefix="conduit_migrations", migrated=False
    ) as url:
        yield url


@pytest.fixture
def config(fresh_url: URL) -> DatabaseConfig:
    return make_settings(fresh_url).database


@pytest.fixture
def migrations(config: DatabaseConfig) -> Migrations:
    return Migrations(config, script_location=MIGRATIONS_DIR)


async def tables(url: URL) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


async def execute(url: URL, sql: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_round_trip_upgrade_downgrade_upgrade_then_no_drift(
    migrations: Migrations, fresh_url: URL
) -> None:
    await migrations.upgrade()
    assert await tables(fresh_url) == EVERY_TABLE | {"alembic_version"}
    await migrations.check()

    await migrations.downgrade("base")
    assert await tables(fresh_url) <= {"alembic_version"}

    await migrations.upgrade("head")
    assert await tables(fresh_url) == EVERY_TABLE | {"alembic_version"}
    await migrations.check()


async def test_state_before_and_after_upgrade(migrations: Migrations) -> None:
    before = await migrations.state()
    assert before.current == ()
    assert len(before.heads) == 1
    assert not before.is_current

    await migrations.upgrade()
    after = await migrations.state()
    assert after.current == after.heads == before.heads
    assert after.is_current


async def test_downgrade_defaults_to_one_step(migrations: Migrations) -> None:
    history = migrations.history()
    await migrations.upgrade()
    await migrations.downgrade()
    state = await migrations.state()
    expected = () if history[0].down_revision is None else (history[0].down_revision,)
    assert state.current == expected


async def test_upgrading_an_up_to_date_database_does_nothing(
    migrations: Migrations, fresh_url: URL
) -> None:
    await migrations.upgrade()
    await migrations.upgrade()
    assert await execute(fresh_url, "SELECT count(*) FROM alembic_version") == [(1,)]


async def test_a_dropped_index_is_drift(migrations: Migrations, fresh_url: URL) -> None:
    await migrations.upgrade()
    await execute(fresh_url, "DROP INDEX ix_comments_author_id")
    with pytest.raises(DriftDetected, match="ix_comments_author_id"):
        await migrations.check()


async def test_an_extra_column_is_drift(migrations: Migrations, fresh_url: URL) -> None:
    await migrations.upgrade()
    await execute(fresh_url, "ALTER TABLE users ADD COLUMN nickname VARCHAR(20)")
    with pytest.raises(DriftDetected, match="nickname"):
        await migrations.check()


async def test_check_on_a_database_behind_head_says_so(migrations: Migrations) -> None:
    with pytest.raises(MigrationError, match="not up to date"):
        await migrations.check()


async def test_an_unknown_revision_is_a_migration_error(migrations: Migrations) -> None:
    with pytest.raises(MigrationError, match="nosuchrev"):
        await migrations.upgrade("nosuchrev")


def offline_migrations() -> Migrations:
    """For commands that never connect: history and offline SQL."""
    return Migrations(make_settings("sqlite:///x.db").database, script_location=MIGRATIONS_DIR)


def test_history_lists_the_revisions_newest_first() -> None:
    migrations = offline_migrations()
    history = migrations.history()
    assert history
    assert history[0].is_head
    assert history[-1].down_revision is None
    assert sum(rev.is_head for rev in history) == 1
    for newer, older in itertools.pairwise(history):
        assert newer.down_revision == older.revision
    for rev in history:
        assert rev.path.exists()
        assert re.match(r"^\d{4}_\d{2}_\d{2}_\d{4}-[0-9a-f]+_\w+\.py$", rev.path.name)


def test_sql_renders_postgres_ddl_offline_from_a_sqlite_config() -> None:
    migrations = Migrations(
        make_settings("sqlite:///x.db").database, script_location=MIGRATIONS_DIR
    )
    sql = migrations.sql(url=db_url.parse("postgresql://offline/conduit"))
    assert "CREATE TABLE users" in sql
    assert "UUID NOT NULL" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql
    assert "statement_timestamp()" in sql
    assert "CONSTRAINT uq_users_email UNIQUE (email)" in sql
    assert "strftime" not in sql
    assert "INSERT INTO alembic_version" in sql


def test_sql_renders_for_the_configured_dialect_by_default() -> None:
    migrations = Migrations(
        make_settings("sqlite:///x.db").database, script_location=MIGRATIONS_DIR
    )
    sql = migrations.sql()
    assert "CREATE TABLE users" in sql
    assert "strftime('%Y-%m-%d %H:%M:%f', 'now')" in sql


def test_sql_renders_a_downgrade_range() -> None:
    migrations = Migrations(
        make_settings("sqlite:///x.db").database, script_location=MIGRATIONS_DIR
    )
    sql = migrations.sql("head:base", url=db_url.parse("postgresql://offline/conduit"))
    assert "DROP TABLE users" in sql
    assert "CREATE TABLE" not in sql


async def test_create_writes_a_date_first_revision_file(
    tmp_path: Path, config: DatabaseConfig
) -> None:
    script_location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, script_location, ignore=shutil.ignore_patterns("__pycache__"))
    migrations = Migrations(config, script_location=script_location)
    await migrations.upgrade()
    created = await migrations.create("add widgets", autogenerate=False)
    assert created.note is None  # formatted by ruff
    path = created.path
    assert path.parent == script_location / "versions"
    assert re.match(r"^\d{4}_\d{2}_\d{2}_\d{4}-[0-9a-f]{12}_add_widgets\.py$", path.name)
    assert migrations.history()[0].message == "add widgets"
    # An autogenerated revision against an up-to-date database finds nothing to do.
    await migrations.upgrade()
    empty = (await migrations.create("nothing", autogenerate=True)).path.read_text()
    assert "op.create" not in empty
    assert "op.drop" not in empty


async def test_an_unreachable_database_is_unavailable() -> None:
    config = make_settings("postgresql://conduit:hunter2@127.0.0.1:1/conduit").database
    migrations = Migrations(config, script_location=MIGRATIONS_DIR)
    with pytest.raises(Unavailable) as caught:
        await migrations.state()
    assert "hunter2" not in caught.value.message
    with pytest.raises(Unavailable):
        await migrations.upgrade()


# --- PostgreSQL: several processes starting at once apply each migration exactly once ----------


@pytest.fixture
async def postgres_url(scratch_databases: Scratch) -> AsyncIterator[URL]:
    async with scratch_databases.url(
        "postgresql", prefix="conduit_concurrent", migrated=False
    ) as url:
        yield url


async def assert_migrated_once(url: URL) -> None:
    assert await tables(url) == EVERY_TABLE | {"alembic_version"}
    versions = await execute(url, "SELECT version_num FROM alembic_version")
    heads = Migrations(make_settings(url).database, script_location=MIGRATIONS_DIR).script
    assert versions == [(heads.get_current_head(),)]


async def test_concurrent_upgrades_on_separate_engines_apply_once(postgres_url: URL) -> None:
    runners = [
        Migrations(make_settings(postgres_url).database, script_location=MIGRATIONS_DIR)
        for _ in range(4)
    ]
    await asyncio.wait_for(asyncio.gather(*(m.upgrade() for m in runners)), timeout=60)
    await assert_migrated_once(postgres_url)


UPGRADE_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from conduit.db.migrations import Migrations
    from conduit.settings import load_settings

    settings = load_settings(_env_file=None, database_url=sys.argv[1])
    asyncio.run(Migrations(settings.database, script_location=Path(sys.argv[2])).upgrade())
    print("upgraded")
    """
)


async def upgrade_from_processes(url: URL, count: int = 3) -> None:
    """``count`` processes upgrade the database at ``url`` at once; each must succeed."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            UPGRADE_SCRIPT,
            url.render_as_string(hide_password=False),
            str(MIGRATIONS_DIR),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]
    outputs = await asyncio.wait_for(
        asyncio.gather(*(p.communicate() for p in processes)), timeout=120
    )
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr.decode()
        assert b"upgraded" in stdout


async def test_concurrent_upgrades_from_separate_processes_apply_once(postgres_url: URL) -> None:
    await upgrade_from_processes(postgres_url)
    await assert_migrated_once(postgres_url)


async def test_the_upgrade_lock_is_released_after_a_failure(postgres_url: URL) -> None:
    migrations = Migrations(make_settings(postgres_url).database, script_location=MIGRATIONS_DIR)
    with pytest.raises(MigrationError):
        await migrations.upgrade("nosuchrev")
    # A held advisory lock would make this wait forever.
    await asyncio.wait_for(migrations.upgrade(), timeout=30)
    await assert_migrated_once(postgres_url)


COUNTS_REVISION = "5c1e2d7a9b30"
COUNTS_FIXTURE = [
    "INSERT INTO users (id, email, username, password_hash) VALUES "
    "('00000000-0000-7000-8000-000000000001', 'a@x.org', 'ann', 'h'), "
    "('00000000-0000-7000-8000-000000000002', 'b@x.org', 'bob', 'h'), "
    "('00000000-0000-7000-8000-000000000003', 'c@x.org', 'cat', 'h')",
    "INSERT INTO tags (name) VALUES ('red'), ('blue'), ('unused')",
    # ann: two live articles and a deleted one; bob: one live; cat: none.
    "INSERT INTO articles (id, slug, title, description, body, author_id, deleted_at) VALUES "
    "('00000000-0000-7000-8000-0000000000a1', 'a1', 't', 'd', 'b', "
    "'00000000-0000-7000-8000-000000000001', NULL), "
    "('00000000-0000-7000-8000-0000000000a2', 'a2', 't', 'd', 'b', "
    "'00000000-0000-7000-8000-000000000001', NULL), "
    "('00000000-0000-7000-8000-0000000000a3', 'a3', 't', 'd', 'b', "
    "'00000000-0000-7000-8000-000000000001', '2026-01-01 00:00:00'), "
    "('00000000-0000-7000-8000-0000000000b1', 'b1', 't', 'd', 'b', "
    "'00000000-0000-7000-8000-000000000002', NULL)",
    "INSERT INTO article_tags (article_id, tag_id) "
    "SELECT a.id, t.id FROM articles a, tags t "
    "WHERE (a.slug IN ('a1', 'a3', 'b1') AND t.name = 'red') "
    "OR (a.slug = 'a1' AND t.name = 'blue')",
]


def _for_dialect(url: URL, sql: str) -> str:
    if url.get_backend_name() == "postgresql":
        return sql
    # SQLAlchemy stores UUIDs on SQLite as 32 hex digits without dashes, MySQL as 16 bytes.
    quote = "x'" if url.get_backend_name() == "mysql" else "'"
    return re.sub(r"'([0-9a-f-]{36})'", lambda m: quote + m[1].replace("-", "") + "'", sql)


async def test_the_counts_revision_counts_the_existing_articles(
    migrations: Migrations, fresh_url: URL
) -> None:
    before = next(r.down_revision for r in migrations.history() if r.revision == COUNTS_REVISION)
    await migrations.upgrade(str(before))
    for sql in COUNTS_FIXTURE:
        await execute(fresh_url, _for_dialect(fresh_url, sql))

    await migrations.upgrade(COUNTS_REVISION)

    assert await execute(fresh_url, "SELECT name, value FROM counters") == [("live_articles", 3)]
    users = await execute(fresh_url, "SELECT username, articles_count FROM users ORDER BY 1")
    assert users == [("ann", 2), ("bob", 1), ("cat", 0)]
    tags = await execute(fresh_url, "SELECT name, articles_count FROM tags ORDER BY 1")
    # a3 is deleted: its red does not count.
    assert tags == [("blue", 1), ("red", 2), ("unused", 0)]
    await migrations.downgrade(str(before))
    assert "counters" not in await tables(fresh_url)


LINKS_REVISION = "c4a8f2e6d1b9"
# The articles of the counts fixture, each with its own created_at, and favorites of them.
LINKS_FIXTURE = [
    *COUNTS_FIXTURE,
    "UPDATE articles SET created_at = '2026-01-01 10:00:00+00' WHERE slug = 'a1'",
    "UPDATE articles SET created_at = '2026-01-02 10:00:00+00' WHERE slug = 'a2'",
    "INSERT INTO favorites (user_id, article_id) "
    "SELECT u.id, a.id FROM users u, articles a WHERE u.username = 'cat' OR a.slug = 'b1'",
]


async def test_the_links_revision_copies_created_at_and_counts_favorites(
    migrations: Migrations, fresh_url: URL
) -> None:
    before = next(r.down_revision for r in migrations.history() if r.revision == LINKS_REVISION)
    await migrations.upgrade(str(before))
    for sql in LINKS_FIXTURE:
        await execute(fresh_url, _for_dialect(fresh_url, sql))

    await migrations.upgrade(LINKS_REVISION)

    for table, expected_rows in (("article_tags", 4), ("favorites", 6)):
        copied = await execute(
            fresh_url,
            f"SELECT count(*) FROM {table} JOIN articles ON articles.id = {table}.article_id"
            f" WHERE {table}.article_created_at = articles.created_at",
        )
        assert copied == [(expected_rows,)], table
    # cat favorited all four (a3 is deleted), ann and bob only b1.
    counted = await execute(fresh_url, "SELECT username, favorites_count FROM users ORDER BY 1")
    assert counted == [("ann", 1), ("bob", 1), ("cat", 3)]
    # Reversible (the round-trip test checks the schema after each step).
    await migrations.downgrade(str(before))


FAVORITES_REVISION = "d5b1e7a3c9f2"
# More articles than one batch of the backfill (5,000), so favorites fall on both sides of a
# batch's bounds: article i's id ends in i, in key order.
BATCHED_ARTICLES = 5003


def _article_id(i: int) -> str:
    return f"'00000000-0000-7000-8000-{i:012x}'"


def _favorites_fixture() -> list[str]:
    articles = [
        f"({_article_id(i)}, 'a{i}', 't', 'd', 'b', '00000000-0000-7000-8000-000000000001')"
        for i in range(1, BATCHED_ARTICLES + 1)
    ]
    insert = "INSERT INTO articles (id, slug, title, description, body, author_id) VALUES "
    # user 1 ann, 2 bob, 3 cat: who favorited which article.
    favorites = {1: (1, 2, 3), 2: (2,), 5000: (2,), 5001: (2, 3), BATCHED_ARTICLES: (3,)}
    return [
        COUNTS_FIXTURE[0],
        *(insert + ", ".join(articles[i : i + 1000]) for i in range(0, len(articles), 1000)),
        # A deleted article's favorites count too, as they did before the kept count.
        "UPDATE articles SET deleted_at = '2026-01-01 00:00:00' WHERE slug = 'a2'",
        "INSERT INTO favorites (user_id, article_id) VALUES "
        + ", ".join(
            f"('00000000-0000-7000-8000-00000000000{user}', {_article_id(article)})"
            for article, users in favorites.items()
            for user in users
        ),
    ]


async def backfills_favorites_per_article(migrations: Migrations, url: URL) -> None:
    """The favorites revision counts each article's favorites, across batches, and its
    downgrade drops the count (each dialect's test calls this)."""
    before = next(r.down_revision for r in migrations.history() if r.revision == FAVORITES_REVISION)
    await migrations.upgrade(str(before))
    for sql in _favorites_fixture():
        await execute(url, _for_dialect(url, sql))

    await migrations.upgrade(FAVORITES_REVISION)

    counted = await execute(
        url, "SELECT slug, favorites_count FROM articles WHERE favorites_count <> 0 ORDER BY slug"
    )
    assert counted == [("a1", 3), ("a2", 1), ("a5000", 1), ("a5001", 2), ("a5003", 1)]
    await migrations.downgrade(str(before))
    assert "favorites_count" not in await columns(url, "articles")


async def columns(url: URL, table: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda sync: inspect(sync).get_columns(table))
    finally:
        await engine.dispose()
    return {column["name"] for column in found}


async def test_the_favorites_revision_counts_each_articles_favorites_in_batches(
    migrations: Migrations, fresh_url: URL
) -> None:
    await backfills_favorites_per_article(migrations, fresh_url)
