"""PostgreSQL: a page shows each article's favoritesCount without reading its favorites.

The count is kept on the article's row (``articles.favorites_count``), so a page of articles
that many readers favorited reads no favorite for the counts: with a viewer, only the viewer's
own favorites for the ``favorited`` flag (a key lookup per article, or the viewer's favorites
once, hashed), without one none at all. Planned as the endpoint sends it,
with EXPLAIN ANALYZE, over 3,000 articles, the newest 100 each favorited by 30 readers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from conduit.domain.articles import recount
from tests.factories import make_user
from tests.integration.api.test_cursor_plan import (
    LIMIT,
    capture_page_statement,
    many_articles,
    postgresql_only,  # noqa: F401 - the autouse fixture: these plans are PostgreSQL's
)
from tests.plans import explain, nodes

FANS = 30
# Each fan favorited the newest articles, this many.
FAVORITED = 100


def favorites_read(plan: dict[str, Any]) -> int:
    """Rows of ``favorites`` (or of its indexes) read, over all loops."""
    return sum(
        node["Actual Rows"] * node["Actual Loops"]
        for node in nodes(plan)
        if node.get("Relation Name") == "favorites"
    )


async def test_a_page_of_much_favorited_articles_reads_no_favorite_for_the_counts(
    app, client, connection, engine
):
    await many_articles(app, connection)
    fans = [await make_user(app) for _ in range(FANS)]
    await connection.execute(
        text(
            "INSERT INTO favorites (user_id, article_id, article_created_at)"
            " SELECT users.id, newest.id, newest.created_at FROM users CROSS JOIN"
            " (SELECT id, created_at FROM articles"
            "  ORDER BY created_at DESC, id DESC LIMIT :favorited) AS newest"
            " WHERE users.id = ANY(:fans)"
        ),
        {"fans": [fan.user.id for fan in fans], "favorited": FAVORITED},
    )
    async with app.state.database.unit_of_work() as session:
        await recount.recount(session)
    await connection.exec_driver_sql("ANALYZE articles, favorites")

    page = await client.get(f"/api/articles?limit={LIMIT}", headers=fans[0].auth)
    assert [a["favoritesCount"] for a in page.json()["articles"]] == [FANS] * LIMIT
    assert all(a["favorited"] for a in page.json()["articles"])
    for headers, most in ((fans[0].auth, FAVORITED), (None, 0)):
        sql, params = await capture_page_statement(
            engine, client, f"/api/articles?limit={LIMIT}", marker="OFFSET", headers=headers
        )
        plan = await explain(connection, sql, params, analyze=True)
        # Not FANS favorites per article (600): at most the viewer's own.
        assert favorites_read(plan) <= most, plan
