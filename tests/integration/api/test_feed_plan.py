"""PostgreSQL: a feed page reads each followed author's newest articles, not the whole list.

200 authors write 8,000 articles that interleave in time. A reader of 3 of them: walking the
live list order and keeping the followed authors' articles would read about 67 rows per
article shown; the page merges each followed author's newest ``offset + limit`` articles
instead. A reader of all 200: merging every author's newest ``offset + limit`` would read
200 x page rows; the page reads each author's newest date (one row each), then only the
articles at or above the page's floor (the page's rows).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, text

from conduit.db.model import uuid7
from conduit.domain.articles import recount
from conduit.domain.articles.models import Article
from conduit.domain.users.models import User
from tests.factories import PASSWORD_HASH, make_user
from tests.integration.api.test_cursor_plan import (
    LIMIT,
    postgresql_only,  # noqa: F401 - the autouse fixture: these plans are PostgreSQL's
)
from tests.plans import explain, nodes, sent_statements

AUTHORS = 200
FOLLOWED = 3
AUTHOR_INDEX = "ix_articles_author_created_at"


async def reader_of(app, connection, followed: int) -> Any:
    """200 authors of 40 articles each, interleaved in time; a reader following the first
    ``followed`` of them."""
    users = [
        {
            "id": uuid7(),
            "email": f"feeder{n}@example.com",
            "username": f"feeder{n}",
            "password_hash": PASSWORD_HASH,
        }
        for n in range(AUTHORS)
    ]
    await connection.execute(insert(User), users)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    await connection.execute(
        insert(Article),
        [
            {
                "id": uuid7(),
                "slug": f"f-{i}",
                "title": f"F {i}",
                "description": "d",
                "body": "b",
                "author_id": users[i % AUTHORS]["id"],
                "created_at": start + dt.timedelta(seconds=i),
                "updated_at": start,
            }
            for i in range(AUTHORS * 40)
        ],
    )
    reader = await make_user(app)
    await connection.execute(
        text("INSERT INTO follows (follower_id, followee_id) VALUES (:r, :a)"),
        [{"r": reader.user.id, "a": user["id"]} for user in users[:followed]],
    )
    async with app.state.database.unit_of_work() as session:
        await recount.recount(session)
    await connection.exec_driver_sql("ANALYZE articles, follows, users")
    return reader


async def feed_plan(
    client, connection, engine, reader, query: str, *, followed: int = FOLLOWED
) -> dict[str, Any]:
    with sent_statements(engine) as sent:
        response = await client.get(f"/api/articles/feed?{query}", headers=reader.auth)
    assert response.status_code == 200, response.text
    assert len(response.json()["articles"]) == LIMIT
    assert response.json()["articlesCount"] == followed * 40
    (page,) = [(sql, params) for sql, params in sent if "LATERAL" in sql]
    return await explain(connection, *page, analyze=True)


def read_by_index(plan: dict[str, Any], index: str) -> int:
    return sum(
        node["Actual Rows"] * node["Actual Loops"]
        for node in nodes(plan)
        if node.get("Index Name") == index
    )


async def test_a_feed_page_reads_at_most_a_page_per_followed_author(
    app, client, connection, engine
):
    reader = await reader_of(app, connection, FOLLOWED)
    for offset in (0, 40):
        plan = await feed_plan(client, connection, engine, reader, f"limit={LIMIT}&offset={offset}")
        assert read_by_index(plan, "ix_articles_live_created_at") == 0
        # Each author's newest date, then (fewer authors than the page) their newest articles.
        read = read_by_index(plan, AUTHOR_INDEX)
        assert 0 < read <= FOLLOWED + FOLLOWED * (offset + LIMIT), offset


async def test_a_feed_cursor_page_reads_at_most_a_page_per_followed_author(
    app, client, connection, engine
):
    reader = await reader_of(app, connection, FOLLOWED)
    first = await client.get("/api/articles/feed?limit=1&offset=59", headers=reader.auth)
    cursor = first.json()["nextCursor"]
    plan = await feed_plan(client, connection, engine, reader, f"limit={LIMIT}&cursor={cursor}")
    assert read_by_index(plan, "ix_articles_live_created_at") == 0
    assert 0 < read_by_index(plan, AUTHOR_INDEX) <= FOLLOWED + FOLLOWED * (LIMIT + 1)


async def test_a_feed_page_of_many_authors_reads_one_row_per_author_and_the_page(
    app, client, connection, engine
):
    reader = await reader_of(app, connection, AUTHORS)
    for offset in (0, 40):
        plan = await feed_plan(
            client, connection, engine, reader, f"limit={LIMIT}&offset={offset}", followed=AUTHORS
        )
        assert read_by_index(plan, "ix_articles_live_created_at") == 0
        # Not AUTHORS x (offset + LIMIT) = 4,000 or 12,000 rows.
        assert read_by_index(plan, AUTHOR_INDEX) == AUTHORS + offset + LIMIT, offset


async def test_a_feed_cursor_page_of_many_authors_reads_one_row_per_author_and_the_page(
    app, client, connection, engine
):
    reader = await reader_of(app, connection, AUTHORS)
    first = await client.get("/api/articles/feed?limit=1&offset=59", headers=reader.auth)
    cursor = first.json()["nextCursor"]
    plan = await feed_plan(
        client, connection, engine, reader, f"limit={LIMIT}&cursor={cursor}", followed=AUTHORS
    )
    assert read_by_index(plan, "ix_articles_live_created_at") == 0
    # Each author's newest before the cursor, then the page and the row after it.
    assert read_by_index(plan, AUTHOR_INDEX) == AUTHORS + LIMIT + 1
