"""PostgreSQL: the searches' plans use their GIN indexes, and the search migration backfills.

GIN indexes keep new entries in a pending list until VACUUM, and the planner prices them from
statistics VACUUM writes: these tests run on a database of their own with committed rows,
vacuumed as autovacuum would, instead of inside a rolled-back test transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db.migrations import DriftDetected, Migrations
from conduit.db.model import uuid7
from conduit.db.session import Database
from conduit.domain.articles.models import Article
from conduit.domain.users.models import User
from conduit.http.app import create_app
from tests.conftest import MIGRATIONS_DIR, asgi_client, make_settings
from tests.factories import PASSWORD_HASH
from tests.plans import explain, nodes, sent_statements
from tests.scratch import Scratch

USERS = 3000
ARTICLES = 3000
SEARCH_REVISION = "aa6fa5ba95f0"


@pytest.fixture
async def fresh_postgres(scratch_databases: Scratch) -> AsyncIterator[URL]:
    async with scratch_databases.url("postgresql", prefix="conduit_search", migrated=False) as url:
        yield url


async def fill(url: URL) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            users = [
                {
                    "id": uuid7(),
                    "email": f"person{i}@example.com",
                    "username": f"person{i:04d}" if i % 100 else f"wyvernfan{i}",
                    "password_hash": PASSWORD_HASH,
                }
                for i in range(USERS)
            ]
            await conn.execute(insert(User), users)
            start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            await conn.execute(
                insert(Article),
                [
                    {
                        "id": uuid7(),
                        "slug": f"a-{i}",
                        "title": "Wyvern care" if i % 100 == 0 else f"Article {i}",
                        "description": "about things",
                        "body": "ordinary words",
                        "author_id": users[i % USERS]["id"],
                        "created_at": start + dt.timedelta(seconds=i),
                        "updated_at": start,
                    }
                    for i in range(ARTICLES)
                ],
            )
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE users"))
            await autocommit.execute(text("VACUUM ANALYZE articles"))
    finally:
        await engine.dispose()


async def plans_of(url: URL, path: str) -> list[dict[str, Any]]:
    """The plans of the statements the endpoint at ``path`` sends, as it sends them."""
    settings = make_settings(url)
    database = Database.from_config(settings.database)
    try:
        app = create_app(settings, database=database)
        transport = httpx.ASGITransport(app=app)
        with sent_statements(database.engine) as sent:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://conduit.test"
            ) as client:
                response = await client.get(path)
        assert response.status_code == 200, response.text
        async with database.engine.connect() as conn:
            return [await explain(conn, sql, params) for sql, params in sent]
    finally:
        await database.dispose()


async def test_searches_use_their_gin_indexes(fresh_postgres: URL) -> None:
    await Migrations(
        make_settings(fresh_postgres).database, script_location=MIGRATIONS_DIR
    ).upgrade()
    await fill(fresh_postgres)

    (articles_plan,) = await plans_of(fresh_postgres, "/api/articles?q=wyvern")
    used = {node.get("Index Name") for node in nodes(articles_plan)}
    assert "ix_articles_search_vector" in used, json.dumps(articles_plan, indent=1)

    (profiles_plan,) = await plans_of(fresh_postgres, "/api/profiles?q=wyvernfan")
    used = {node.get("Index Name") for node in nodes(profiles_plan)}
    assert "ix_users_username_trgm" in used, json.dumps(profiles_plan, indent=1)


async def test_the_search_revision_backfills_existing_articles(fresh_postgres: URL) -> None:
    migrations = Migrations(make_settings(fresh_postgres).database, script_location=MIGRATIONS_DIR)
    before = next(r.down_revision for r in migrations.history() if r.revision == SEARCH_REVISION)
    assert before is not None
    await migrations.upgrade(before)
    await fill(fresh_postgres)
    await migrations.upgrade(SEARCH_REVISION)

    engine = create_async_engine(fresh_postgres)
    try:
        async with engine.connect() as conn:
            missing = await conn.scalar(
                text("SELECT count(*) FROM articles WHERE search_vector IS NULL")
            )
            vector = await conn.scalar(
                text("SELECT search_vector::text FROM articles WHERE slug = 'a-0'")
            )
    finally:
        await engine.dispose()
    assert missing == 0
    assert vector == "'care':2A 'ordinari':5C 'thing':4B 'word':6C 'wyvern':1A"
    # ... and the search finds the backfilled rows (the application reads the later
    # revisions' columns too).
    await migrations.upgrade()
    settings = make_settings(fresh_postgres)
    database = Database.from_config(settings.database)
    try:
        async with asgi_client(create_app(settings, database=database)) as client:
            body = (await client.get("/api/articles?q=wyvern&limit=1")).json()
    finally:
        await database.dispose()
    assert body["articlesCount"] == ARTICLES // 100


async def test_the_drift_check_compares_the_postgresql_only_search_objects(
    fresh_postgres: URL,
) -> None:
    # SQLite leaves them out (migrations/env.py); PostgreSQL must still hold them to the models.
    migrations = Migrations(make_settings(fresh_postgres).database, script_location=MIGRATIONS_DIR)
    await migrations.upgrade()
    await migrations.check()
    engine = create_async_engine(fresh_postgres)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP INDEX ix_articles_search_vector"))
            await conn.execute(text("DROP INDEX ix_users_username_trgm"))
    finally:
        await engine.dispose()
    with pytest.raises(DriftDetected) as drift:
        await migrations.check()
    assert "ix_articles_search_vector" in str(drift.value)
    assert "ix_users_username_trgm" in str(drift.value)
