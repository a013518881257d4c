"""GET /api/admin/export/articles: NDJSON streamed from a server-side cursor.

The export opens a connection of its own (a request's unit of work ends before its response
streams), so it cannot see the rolled-back transaction the other API tests write into. These
tests run on a database of their own per dialect, whose writes commit, emptied after each test.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from conduit.db.engine import create_engine
from conduit.db.model import uuid7
from conduit.db.session import Database, make_sessionmaker
from conduit.domain.admin.export import export_articles, snapshot
from conduit.domain.articles.models import Article
from conduit.domain.tags.models import Tag
from conduit.domain.users.models import User
from conduit.http.app import create_app
from tests.conftest import (
    asgi_client,
    make_settings,
)
from tests.factories import MadeUser, make_user
from tests.integration.api.admin_support import insert_article, insert_comment, insert_favorites
from tests.integration.api.articles_support import TIMESTAMP
from tests.statements import assert_max_statements

EXPORT = "/api/admin/export/articles"
LINE_KEYS = {
    "slug",
    "title",
    "description",
    "body",
    "author",
    "tagList",
    "favoritesCount",
    "commentsCount",
    "createdAt",
    "updatedAt",
}
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def export_app(own_database: Database) -> AsyncIterator[FastAPI]:
    yield create_app(make_settings(own_database.engine.url), database=own_database)
    # Deleting the users and tags cascades to everything else.
    async with own_database.unit_of_work() as session:
        await session.execute(delete(User))
        await session.execute(delete(Tag))


@pytest.fixture
async def export_client(export_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(export_app) as client:
        yield client


def export_statements(database: Database) -> int:
    """Authentication, then the one export statement; on PostgreSQL the export's own
    statement timeout is set first, for its transaction only (on MySQL for its session, with
    read only)."""
    return 2 if database.engine.dialect.name == "sqlite" else 3


def lines(response: httpx.Response) -> list[dict[str, object]]:
    assert response.text == "" or response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


async def many_articles(app: FastAPI, author: MadeUser, count: int) -> list[str]:
    """``count`` articles one minute apart, in one multi-row INSERT; their slugs in order."""
    database: Database = app.state.database
    rows = [
        {
            "id": uuid7(),
            "slug": f"bulk-{i:05d}",
            "title": f"Bulk {i}",
            "description": "d",
            "body": "b" * 200,
            "author_id": author.user.id,
            "created_at": START + dt.timedelta(minutes=i),
            "updated_at": START + dt.timedelta(minutes=i),
        }
        for i in range(count)
    ]
    async with database.unit_of_work() as session:
        await session.execute(insert(Article), rows)
    return [str(row["slug"]) for row in rows]


async def test_export_streams_each_live_article_as_one_json_line(
    export_app, export_client, own_database
):
    admin = await make_user(export_app, role="admin")
    ann = await make_user(export_app, username="ann")
    bob = await make_user(export_app, username="bob")
    first = await insert_article(
        export_app, ann, slug="first", tags=["zeta", "alpha"], created_at=START
    )
    await insert_article(export_app, bob, slug="second", created_at=START + dt.timedelta(hours=1))
    gone = await insert_article(
        export_app, ann, slug="gone", created_at=START + dt.timedelta(hours=2), deleted_at=START
    )
    await insert_favorites(export_app, first, bob, admin)
    await insert_favorites(export_app, gone, bob)
    await insert_comment(export_app, bob, first)
    await insert_comment(export_app, ann, first)
    await insert_comment(export_app, ann, first, deleted_at=START)

    with assert_max_statements(export_statements(own_database)) as stats:
        response = await export_client.get(EXPORT, headers=admin.auth)
    assert stats.count == export_statements(own_database)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    exported = lines(response)
    assert [line["slug"] for line in exported] == ["first", "second"]
    assert all(set(line) == LINE_KEYS for line in exported)
    assert exported[0] == {
        "slug": "first",
        "title": "A title",
        "description": "A description",
        "body": "A body",
        "author": "ann",
        "tagList": ["alpha", "zeta"],
        "favoritesCount": 2,
        "commentsCount": 2,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:00:00.000Z",
    }
    assert exported[1]["author"] == "bob"
    assert exported[1]["tagList"] == []
    assert (exported[1]["favoritesCount"], exported[1]["commentsCount"]) == (0, 0)
    assert TIMESTAMP.match(str(exported[1]["updatedAt"]))


async def test_export_of_a_platform_without_articles_is_empty(export_app, export_client):
    admin = await make_user(export_app, role="admin")
    response = await export_client.get(EXPORT, headers=admin.auth)
    assert response.status_code == 200
    assert response.content == b""


async def test_export_of_several_batches_has_every_article_once_oldest_first(
    export_app, export_client, own_database
):
    admin = await make_user(export_app, role="admin")
    slugs = await many_articles(export_app, admin, 2_345)
    with assert_max_statements(export_statements(own_database)):
        response = await export_client.get(EXPORT, headers=admin.auth)
    assert [line["slug"] for line in lines(response)] == slugs


async def test_the_export_reads_in_batches_of_its_batch_size(export_app, own_database):
    admin = await make_user(export_app, role="admin")
    slugs = await many_articles(export_app, admin, 25)
    batches = [
        [row.slug for row in batch]
        async for batch in export_articles(own_database.engine, batch_size=10)
    ]
    assert [len(batch) for batch in batches] == [10, 10, 5]
    assert [slug for batch in batches for slug in batch] == slugs


async def test_closing_the_export_early_hands_its_connection_back(export_app, own_database):
    admin = await make_user(export_app, role="admin")
    await many_articles(export_app, admin, 30)
    pool = own_database.engine.pool
    assert pool.checkedout() == 0
    export = export_articles(own_database.engine, batch_size=10)
    assert len(await anext(export)) == 10
    assert pool.checkedout() == 1
    await export.aclose()
    assert pool.checkedout() == 0


async def test_the_export_is_one_snapshot_however_the_data_changes_meanwhile(
    export_app, own_database
):
    admin = await make_user(export_app, role="admin")
    slugs = await many_articles(export_app, admin, 30)
    export = export_articles(own_database.engine, batch_size=10)
    seen = [row.slug for row in await anext(export)]
    # Committed while the export is under way: a deletion, an edit and a new article.
    async with own_database.unit_of_work() as session:
        await session.execute(
            update(Article).where(Article.slug == slugs[-1]).values(deleted_at=START)
        )
        await session.execute(
            update(Article).where(Article.slug == slugs[-2]).values(title="Edited")
        )
    await insert_article(export_app, admin, slug="late", created_at=START + dt.timedelta(days=9))
    rest = [row async for batch in export for row in batch]
    assert seen + [row.slug for row in rest] == slugs
    assert rest[-2].title == f"Bulk {len(slugs) - 2}"


async def test_the_export_transaction_is_a_read_only_snapshot(own_database):
    async with snapshot(own_database.engine) as conn:
        assert conn.in_transaction()
        if conn.dialect.name == "sqlite":
            # A read transaction in WAL mode sees the database as of its first read.
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            return
        if conn.dialect.name == "mysql":
            # InnoDB shows its snapshot by behaviour: a row committed after the first read
            # stays invisible, and the transaction refuses to write.
            tags = select(func.count()).select_from(Tag)
            before = (await conn.execute(tags)).scalar_one()
            async with own_database.unit_of_work() as session:
                await session.execute(insert(Tag).values(name=f"snapshot-{uuid7().hex[:8]}"))
            assert (await conn.execute(tags)).scalar_one() == before
            with pytest.raises(DBAPIError, match="1792"):  # read-only transaction
                await conn.execute(insert(Tag).values(name="refused"))
            return
        show = "SHOW transaction_isolation", "SHOW transaction_read_only"
        assert [(await conn.execute(text(sql))).scalar() for sql in show] == [
            "repeatable read",
            "on",
        ]
    # The pooled connection comes back with the defaults.
    async with own_database.engine.connect() as conn:
        assert [(await conn.execute(text(sql))).scalar() for sql in show] == [
            "read committed",
            "off",
        ]


async def test_an_unreachable_database_is_503_before_any_line_is_sent(
    settings, connection, tmp_path
):
    # Sessions (authentication) work; the export's own connections go nowhere.
    nowhere = make_settings(f"sqlite:///{tmp_path}/missing/dir/conduit.db").database
    database = Database(create_engine(nowhere), factory=make_sessionmaker(connection))
    app = create_app(settings, database=database)
    admin = await make_user(app, role="admin")
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://conduit.test") as c:
            response = await c.get(EXPORT, headers=admin.auth)
    finally:
        await database.engine.dispose()
    assert response.status_code == 503
    assert response.json() == {"errors": {"database": ["unavailable"]}}
