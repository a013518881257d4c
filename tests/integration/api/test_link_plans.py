"""PostgreSQL: a page of the tag or favorited filter reads the page, not every match.

The tag's links and the reader's favorites carry the article's created_at, indexed in list
order: a page is one backward range scan of that index, each row joined to its article, and
stops after the page. Planned as the endpoint sends it, with EXPLAIN ANALYZE, over 3,000
articles that all carry the tag and are all favorited by one reader.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from conduit.domain.articles import recount
from tests.factories import make_user
from tests.integration.api.test_cursor_plan import (
    ARTICLES,
    LIMIT,
    capture_page_statement,
    explain,
    many_articles,
    nodes,
    postgresql_only,  # noqa: F401 - the autouse fixture: these plans are PostgreSQL's
)

TAG_INDEX = "ix_article_tags_tag_created_at"
FAVORITE_INDEX = "ix_favorites_user_created_at"


async def tag_and_favorite_everything(app, connection) -> str:
    """Tag every article ``popular`` and have one reader favorite each; the reader's name."""
    await many_articles(app, connection)
    fan = await make_user(app)
    await connection.execute(text("INSERT INTO tags (name) VALUES ('popular'), ('other')"))
    await connection.execute(
        text(
            "INSERT INTO article_tags (article_id, tag_id, article_created_at)"
            " SELECT articles.id, tags.id, articles.created_at FROM articles CROSS JOIN tags"
            " WHERE tags.name = 'popular' OR articles.slug LIKE '%1'"
        )
    )
    await connection.execute(
        text(
            "INSERT INTO favorites (user_id, article_id, article_created_at)"
            " SELECT :fan, id, created_at FROM articles"
        ),
        {"fan": fan.user.id},
    )
    async with app.state.database.unit_of_work() as session:
        await recount.recount(session)
    await connection.exec_driver_sql("ANALYZE articles, article_tags, favorites, tags")
    return fan.username


def link_scan(plan: dict[str, Any], index: str) -> dict[str, Any]:
    scans = [node for node in nodes(plan) if node.get("Index Name") == index]
    assert len(scans) == 1, plan
    (scan,) = scans
    assert scan["Scan Direction"] == "Backward"
    return scan


def articles_looked_up(plan: dict[str, Any]) -> int:
    """Rows of ``articles`` read by key, over all loops: the link rows joined to their
    articles (``offset + limit``), then the page's joined back for the projection (``limit``;
    the planner may instead hash the page and scan a table this small)."""
    return sum(
        node["Actual Rows"] * node["Actual Loops"]
        for node in nodes(plan)
        if node.get("Relation Name") == "articles" and node["Node Type"] != "Seq Scan"
    )


async def test_a_tag_page_reads_its_rows_of_the_tags_index(app, client, connection, engine):
    await tag_and_favorite_everything(app, connection)
    for offset in (0, 40):
        sql, params = await capture_page_statement(
            engine,
            client,
            f"/api/articles?tag=popular&limit={LIMIT}&offset={offset}",
            marker="OFFSET",
        )
        plan = await explain(connection, sql, params, analyze=True)
        scan = link_scan(plan, TAG_INDEX)
        # The page's rows and those skipped before it: not the 3,000 that carry the tag.
        assert scan["Actual Rows"] == offset + LIMIT, offset
        assert articles_looked_up(plan) <= offset + 2 * LIMIT


async def test_a_favorited_page_reads_its_rows_of_the_favorites_index(
    app, client, connection, engine
):
    # The total is the reader's kept count: no window over every favorite.
    fan = await tag_and_favorite_everything(app, connection)
    for offset in (0, 40):
        sql, params = await capture_page_statement(
            engine,
            client,
            f"/api/articles?favorited={fan}&limit={LIMIT}&offset={offset}",
            marker="OFFSET",
        )
        plan = await explain(connection, sql, params, analyze=True)
        assert link_scan(plan, FAVORITE_INDEX)["Actual Rows"] == offset + LIMIT, offset
        assert articles_looked_up(plan) <= offset + 2 * LIMIT


async def test_a_deep_tag_cursor_page_reads_one_page(app, client, connection, engine):
    await tag_and_favorite_everything(app, connection)
    first = await client.get("/api/articles?tag=popular&limit=1&offset=2499")
    assert first.json()["articlesCount"] == ARTICLES
    sql, params = await capture_page_statement(
        engine,
        client,
        f"/api/articles?tag=popular&limit={LIMIT}&cursor={first.json()['nextCursor']}",
        marker="(tagged.article_created_at, tagged.article_id) <",
    )
    plan = await explain(connection, sql, params, analyze=True)
    assert link_scan(plan, TAG_INDEX)["Actual Rows"] == LIMIT + 1
    assert articles_looked_up(plan) <= 2 * (LIMIT + 1)


async def test_a_deep_favorited_cursor_page_reads_one_page(app, client, connection, engine):
    fan = await tag_and_favorite_everything(app, connection)
    first = await client.get(f"/api/articles?favorited={fan}&limit=1&offset=2499")
    assert first.json()["articlesCount"] == ARTICLES
    sql, params = await capture_page_statement(
        engine,
        client,
        f"/api/articles?favorited={fan}&limit={LIMIT}&cursor={first.json()['nextCursor']}",
        marker="(liked.article_created_at, liked.article_id) <",
    )
    plan = await explain(connection, sql, params, analyze=True)
    assert link_scan(plan, FAVORITE_INDEX)["Actual Rows"] == LIMIT + 1
    assert articles_looked_up(plan) <= 2 * (LIMIT + 1)
