"""GET /api/admin/stats: the platform's numbers in a constant number of statements."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from conduit.domain.users.models import User
from conduit.http.schemas.common import iso_millis
from tests.factories import make_user
from tests.integration.api.admin_support import insert_article, insert_comment, insert_favorites
from tests.integration.api.articles_support import TIMESTAMP
from tests.statements import assert_max_statements

DELETED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


async def test_stats_of_a_platform_with_only_the_admin(app, client):
    admin = await make_user(app, username="root", role="admin")
    response = await client.get("/api/admin/stats", headers=admin.auth)
    assert response.status_code == 200
    stats = response.json()["stats"]
    assert stats["totals"] == {
        "users": 1,
        "activeUsers": 1,
        "articles": 0,
        "comments": 0,
        "favorites": 0,
    }
    assert TIMESTAMP.match(stats["latestSignupAt"])
    # Outer join: the admin has written nothing and is still listed, with 0.
    assert stats["topAuthors"] == [{"username": "root", "articlesCount": 0}]
    assert stats["topTags"] == []
    assert stats["authorsWithFavoritedArticles"] == 0


async def test_stats_count_only_what_the_api_shows(app, client, database):
    admin = await make_user(app, username="root", role="admin")
    ann = await make_user(app, username="ann")
    bob = await make_user(app, username="bob")
    cid = await make_user(app, username="cid", is_active=False)
    # ann: 3 live articles and 1 deleted; bob: 1 live; cid: 1 deleted only.
    ann1 = await insert_article(app, ann, tags=["python", "sql"])
    ann2 = await insert_article(app, ann, tags=["python"])
    await insert_article(app, ann, tags=["sql", "async"])
    gone = await insert_article(app, ann, tags=["gone", "python"], deleted_at=DELETED)
    await insert_article(app, bob, tags=["async"])
    await insert_article(app, cid, tags=["gone"], deleted_at=DELETED)
    # Comments: 2 live ones count; a deleted one and one on a deleted article do not.
    await insert_comment(app, bob, ann1)
    await insert_comment(app, cid, ann1)
    await insert_comment(app, bob, ann2, deleted_at=DELETED)
    await insert_comment(app, bob, gone)
    # Favorites: 3 on live articles (all ann's); the 2 on a deleted one do not count.
    await insert_favorites(app, ann1, bob, cid)
    await insert_favorites(app, ann2, bob)
    await insert_favorites(app, gone, bob, admin)
    async with database.unit_of_work() as session:
        latest = (await session.execute(select(func.max(User.created_at)))).scalar_one()

    with assert_max_statements(4) as stats_count:
        response = await client.get("/api/admin/stats", headers=admin.auth)
    # authentication, totals, top authors, top tags
    assert stats_count.count == 4
    assert response.status_code == 200
    stats = response.json()["stats"]
    assert stats["totals"] == {
        "users": 4,
        "activeUsers": 3,
        "articles": 4,
        "comments": 2,
        "favorites": 3,
    }
    assert stats["latestSignupAt"] == iso_millis(latest)
    assert stats["topAuthors"] == [
        {"username": "ann", "articlesCount": 3},
        {"username": "bob", "articlesCount": 1},
        # No live article: 0, ties by username.
        {"username": "cid", "articlesCount": 0},
        {"username": "root", "articlesCount": 0},
    ]
    # Uses by live articles only; "gone" is on deleted ones alone. Ties by name.
    assert stats["topTags"] == [
        {"tag": "async", "articlesCount": 2},
        {"tag": "python", "articlesCount": 2},
        {"tag": "sql", "articlesCount": 2},
    ]
    # ann's live articles have favorites; bob's has none; the deleted one does not count.
    assert stats["authorsWithFavoritedArticles"] == 1


async def test_top_lists_stop_at_ten_and_the_statement_count_does_not_grow(app, client):
    admin = await make_user(app, username="root", role="admin")
    writers = [await make_user(app, username=f"w{i:02d}") for i in range(12)]
    fans = [await make_user(app) for _ in range(3)]
    for i, writer in enumerate(writers):
        for k in range(i + 1):
            article = await insert_article(app, writer, tags=[f"t{(i + k) % 14:02d}", "all"])
            if k % 4:
                await insert_favorites(app, article, *fans[: k % 4])

    with assert_max_statements(4):
        response = await client.get("/api/admin/stats", headers=admin.auth)
    stats = response.json()["stats"]
    assert [a["username"] for a in stats["topAuthors"]] == [f"w{i:02d}" for i in range(11, 1, -1)]
    assert [a["articlesCount"] for a in stats["topAuthors"]] == list(range(12, 2, -1))
    assert len(stats["topTags"]) == 10
    assert stats["topTags"][0] == {"tag": "all", "articlesCount": 78}
    counts = [t["articlesCount"] for t in stats["topTags"]]
    assert counts == sorted(counts, reverse=True)
    assert stats["totals"]["articles"] == 78
    # Every writer with at least two articles has one favorited (k = 1 has one fan).
    assert stats["authorsWithFavoritedArticles"] == 11
