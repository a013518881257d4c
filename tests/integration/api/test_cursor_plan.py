"""PostgreSQL: a deep cursor page is one backward range scan of the live-order index.

The page statement is captured as the endpoint sends it (SQL and parameters, at the driver) and
planned with EXPLAIN on the same connection, over a few thousand articles with fresh statistics.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import insert

from conduit.db.model import uuid7
from conduit.domain.articles import recount
from conduit.domain.articles.models import Article
from conduit.domain.users.models import User
from tests.factories import PASSWORD_HASH, MadeUser, make_user
from tests.plans import explain, nodes, sent_statements

ARTICLES = 3000
INDEX = "ix_articles_live_created_at"
LIMIT = 20


@pytest.fixture(autouse=True)
def postgresql_only(dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("plans are PostgreSQL's")


def scans_articles(plan: dict[str, Any]) -> bool:
    return any(node.get("Relation Name") == "articles" for node in nodes(plan))


async def many_articles(app, connection) -> list[MadeUser]:
    authors = [await make_user(app) for _ in range(5)]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [
        {
            "id": uuid7(),
            "slug": f"bulk-{i}",
            "title": f"Bulk {i}",
            "description": "d",
            "body": "b",
            "author_id": authors[i % 5].user.id,
            # Every 7th pair shares its instant: the id must break the tie.
            "created_at": start + dt.timedelta(seconds=i - i % 7 // 6),
            "updated_at": start,
        }
        for i in range(ARTICLES)
    ]
    await connection.execute(insert(Article), rows)
    # Written around the services, so counted afresh as a bulk load would be.
    async with app.state.database.unit_of_work() as session:
        await recount.recount(session)
    # Statistics as autovacuum would gather them (ANALYZE runs inside the test's transaction
    # and is rolled back with it).
    await connection.exec_driver_sql("ANALYZE articles")
    return authors


async def capture_page_statement(
    engine,
    client,
    url: str,
    *,
    marker: str = "(articles.created_at, articles.id) <",
    headers: dict[str, str] | None = None,
) -> tuple[str, Any]:
    with sent_statements(engine) as sent:
        response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["articles"]) == LIMIT
    pages = [(sql, params) for sql, params in sent if marker in sql]
    assert len(pages) == 1, [sql for sql, _ in sent]
    return pages[0]


async def cursor_at(client, depth: int) -> str:
    body = (await client.get(f"/api/articles?limit=1&offset={depth - 1}")).json()
    assert body["articlesCount"] == ARTICLES
    cursor: str = body["nextCursor"]
    return cursor


async def test_a_deep_cursor_page_is_one_backward_range_scan(app, client, connection, engine):
    await many_articles(app, connection)
    cursor = await cursor_at(client, 2500)
    sql, params = await capture_page_statement(
        engine, client, f"/api/articles?limit={LIMIT}&cursor={cursor}"
    )

    plan = await explain(connection, sql, params)

    scans = [node for node in nodes(plan) if node.get("Index Name") == INDEX]
    assert len(scans) == 1, json.dumps(plan, indent=1)
    (scan,) = scans
    assert scan["Node Type"] in ("Index Scan", "Index Only Scan")
    assert scan["Scan Direction"] == "Backward"
    # The keyset is the index condition itself: a range, not a filter over scanned rows.
    assert "ROW(created_at, id) < ROW(" in scan["Index Cond"].replace("articles.", "")
    assert "Filter" not in scan
    for node in nodes(plan):
        assert not (node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "articles")
        assert not (node["Node Type"] == "Sort" and scans_articles(node)), "sorts the table"


async def test_a_cursor_page_reads_one_page_of_the_index_at_any_depth(
    app, client, connection, engine
):
    await many_articles(app, connection)
    for depth in (20, 1500, 2900):
        cursor = await cursor_at(client, depth)
        sql, params = await capture_page_statement(
            engine, client, f"/api/articles?limit={LIMIT}&cursor={cursor}"
        )
        plan = await explain(connection, sql, params, analyze=True)
        (scan,) = [node for node in nodes(plan) if node.get("Index Name") == INDEX]
        # The page and the one row that tells whether another page follows: never more.
        assert scan["Actual Rows"] == LIMIT + 1, depth
        assert scan["Actual Loops"] == 1


async def test_an_offset_page_reads_only_its_rows_of_the_index(app, client, connection, engine):
    # The total is the kept count: no window over every live article, the scan stops early.
    await many_articles(app, connection)
    for offset in (0, 40):
        sql, params = await capture_page_statement(
            engine, client, f"/api/articles?limit={LIMIT}&offset={offset}", marker="OFFSET"
        )
        plan = await explain(connection, sql, params, analyze=True)
        (scan,) = [node for node in nodes(plan) if node.get("Index Name") == INDEX]
        assert scan["Scan Direction"] == "Backward"
        assert scan["Actual Rows"] == offset + LIMIT, offset


async def test_an_author_page_reads_only_its_rows_of_the_authors_index(
    app, client, connection, engine
):
    # 200 authors of 40 articles each, interleaved in time.
    users = [
        {
            "id": uuid7(),
            "email": f"writer{n}@example.com",
            "username": f"writer{n}",
            "password_hash": PASSWORD_HASH,
        }
        for n in range(200)
    ]
    await connection.execute(insert(User), users)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    await connection.execute(
        insert(Article),
        [
            {
                "id": uuid7(),
                "slug": f"w-{i}",
                "title": f"W {i}",
                "description": "d",
                "body": "b",
                "author_id": users[i % 200]["id"],
                "created_at": start + dt.timedelta(seconds=i),
                "updated_at": start,
            }
            for i in range(8000)
        ],
    )
    async with app.state.database.unit_of_work() as session:
        await recount.recount(session)
    await connection.exec_driver_sql("ANALYZE articles")

    sql, params = await capture_page_statement(
        engine, client, f"/api/articles?author=writer7&limit={LIMIT}", marker="OFFSET"
    )
    plan = await explain(connection, sql, params, analyze=True)
    scans = [n for n in nodes(plan) if n.get("Index Name") == "ix_articles_author_created_at"]
    assert len(scans) == 1, json.dumps(plan, indent=1)
    (scan,) = scans
    assert scan["Scan Direction"] == "Backward"
    # The page reads 20 of the author's 40 articles, and sorts nothing.
    assert scan["Actual Rows"] == LIMIT
    assert not any(node["Node Type"] == "Sort" for node in nodes(plan))
