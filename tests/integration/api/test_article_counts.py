"""The kept counts of live articles stay exact through every write that changes them.

After each step the counts on ``counters``, ``users``, ``tags`` and ``articles`` (favorites) are
compared with a count of the rows themselves, and the lists that read them answer the same
totals.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update

from conduit.db.model import uuid7
from conduit.domain.articles import recount, striped_total
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.articles.striped_total import LIVE_ARTICLES
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User
from tests.factories import make_user
from tests.integration.api.articles_support import follow, post_article


async def kept(database) -> dict[str, Any]:
    async with database.unit_of_work() as session:
        total = await session.scalar(select(striped_total.total(LIVE_ARTICLES)))
        authors = await session.execute(
            select(User.username, User.articles_count).where(User.articles_count != 0)
        )
        tags = await session.execute(
            select(Tag.name, Tag.articles_count).where(Tag.articles_count != 0)
        )
        favorites = await session.execute(
            select(Article.slug, Article.favorites_count).where(Article.favorites_count != 0)
        )
        return {
            "total": total,
            "authors": dict(authors.all()),
            "tags": dict(tags.all()),
            "favorites": dict(favorites.all()),
        }


async def actual(database) -> dict[str, Any]:
    live = Article.deleted_at.is_(None)
    async with database.unit_of_work() as session:
        total = await session.scalar(select(func.count()).select_from(Article).where(live))
        authors = await session.execute(
            select(User.username, func.count())
            .join(Article, Article.author_id == User.id)
            .where(live)
            .group_by(User.username)
        )
        tags = await session.execute(
            select(Tag.name, func.count())
            .join(ArticleTag, ArticleTag.tag_id == Tag.id)
            .join(Article, Article.id == ArticleTag.article_id)
            .where(live)
            .group_by(Tag.name)
        )
        # Every favorite of the article, live or deleted: what its favoritesCount shows.
        favorites = await session.execute(
            select(Article.slug, func.count())
            .join(Favorite, Favorite.article_id == Article.id)
            .group_by(Article.slug)
        )
        return {
            "total": total,
            "authors": dict(authors.all()),
            "tags": dict(tags.all()),
            "favorites": dict(favorites.all()),
        }


async def assert_exact(database) -> dict[str, Any]:
    now = await kept(database)
    assert now == await actual(database)
    return now


async def articles_count(client, path: str, **kw: Any) -> int:
    response = await client.get(path, **kw)
    assert response.status_code == 200, response.text
    count: int = response.json()["articlesCount"]
    return count


async def test_publishing_editing_deleting_and_restoring_keep_every_count_exact(
    app, client, database
):
    admin = await make_user(app, role="admin")
    ann, bob = await make_user(app), await make_user(app)
    before = await assert_exact(database)

    first = await post_article(client, ann, title="One", tagList=["red", "blue"])
    await post_article(client, ann, title="Two")
    third = await post_article(client, bob, title="Three", tagList=["blue"])
    now = await assert_exact(database)
    assert now["total"] == before["total"] + 3
    assert now["authors"][ann.username] == 2
    assert now["tags"]["blue"] == 2

    # Retag: red goes, green comes, blue stays; then clear every tag.
    response = await client.put(
        f"/api/articles/{first['slug']}",
        json={"article": {"tagList": ["blue", "green"]}},
        headers=ann.auth,
    )
    assert response.status_code == 200
    now = await assert_exact(database)
    assert "red" not in now["tags"]
    assert now["tags"]["green"] == 1
    response = await client.put(
        f"/api/articles/{third['slug']}", json={"article": {"tagList": []}}, headers=bob.auth
    )
    assert response.status_code == 200
    assert (await assert_exact(database))["tags"]["blue"] == 1

    # Favorited, then deleted (by a moderator-level role here) and restored: the article's
    # favorites stay counted throughout.
    await client.post(f"/api/articles/{first['slug']}/favorite", headers=bob.auth)
    assert (await assert_exact(database))["favorites"] == {first["slug"]: 1}
    response = await client.delete(f"/api/articles/{first['slug']}", headers=admin.auth)
    assert response.status_code == 204
    now = await assert_exact(database)
    assert now["favorites"] == {first["slug"]: 1}
    assert now["authors"][ann.username] == 1
    assert "green" not in now["tags"]
    assert now["total"] == before["total"] + 2
    # Deleting again changes nothing: the article is not live.
    response = await client.delete(f"/api/articles/{first['slug']}", headers=ann.auth)
    assert response.status_code == 404
    assert await assert_exact(database) == now

    restored = await client.post(f"/api/admin/articles/{first['slug']}/restore", headers=admin.auth)
    assert restored.status_code == 200
    now = await assert_exact(database)
    assert now["authors"][ann.username] == 2
    assert now["favorites"] == {first["slug"]: 1}
    # Back with the tags it had when deleted (Three's blue was cleared meanwhile).
    assert (now["tags"]["blue"], now["tags"]["green"]) == (1, 1)
    assert now["total"] == before["total"] + 3


async def test_failed_writes_leave_the_counts_alone(app, client, database):
    ann, bob = await make_user(app), await make_user(app)
    created = await post_article(client, ann, tagList=["kept"])
    before = await assert_exact(database)
    # Someone else's article: refused before anything is written.
    response = await client.delete(f"/api/articles/{created['slug']}", headers=bob.auth)
    assert response.status_code == 403
    response = await client.put(
        f"/api/articles/{created['slug']}",
        json={"article": {"tagList": ["stolen"]}},
        headers=bob.auth,
    )
    assert response.status_code == 403
    # Invalid: nothing written.
    response = await client.post(
        "/api/articles",
        json={"article": {"title": "t", "description": "d", "body": "b", "tagList": [" "]}},
        headers=ann.auth,
    )
    assert response.status_code == 422
    assert await assert_exact(database) == before


async def test_lists_answer_the_kept_totals(app, client, database):
    ann, bob, reader = await make_user(app), await make_user(app), await make_user(app)
    for n in range(3):
        await post_article(client, ann, title=f"Ann {n}", tagList=["shared", f"ann{n}"])
    await post_article(client, bob, title="Bob", tagList=["shared"])
    await follow(app, reader, ann, bob)
    now = await assert_exact(database)

    assert await articles_count(client, "/api/articles") == now["total"]
    assert await articles_count(client, "/api/articles?tag=shared") == 4
    assert await articles_count(client, f"/api/articles?author={ann.username}") == 3
    assert await articles_count(client, "/api/articles/feed", headers=reader.auth) == 4
    # Unknown names select nothing.
    assert await articles_count(client, "/api/articles?tag=nosuchtag") == 0
    assert await articles_count(client, "/api/articles?author=nosuchuser") == 0
    # Past the last page the total is still there (read on its own).
    assert await articles_count(client, "/api/articles?tag=shared&offset=50") == 4
    # The tag list shows the tags with a live article, and drops one whose last article goes.
    tags = (await client.get("/api/tags")).json()["tags"]
    assert {"shared", "ann0", "ann1", "ann2"} <= set(tags)
    listed = (await client.get(f"/api/articles?tag=ann0&author={ann.username}")).json()
    slug = listed["articles"][0]["slug"]
    assert (await client.delete(f"/api/articles/{slug}", headers=ann.auth)).status_code == 204
    assert "ann0" not in (await client.get("/api/tags")).json()["tags"]
    assert await articles_count(client, "/api/articles?tag=shared") == 3


async def test_recount_repairs_counts_left_behind_by_writes_around_the_services(
    app, client, database
):
    ann = await make_user(app)
    bob = await make_user(app)
    posted = (await post_article(client, ann, tagList=["alpha"]))["slug"]
    await client.post(f"/api/articles/{posted}/favorite", headers=bob.auth)
    loaded = uuid7()
    # Rows written directly (as a bulk load or an older version would) and counts gone wrong:
    # a favorite the loaded article's count misses, and every article's count 3 too high.
    async with database.unit_of_work() as session:
        await session.execute(
            insert(Article).values(
                id=loaded,
                slug="loaded",
                title="t",
                description="d",
                body="b",
                author_id=ann.user.id,
            )
        )
        await session.execute(update(Tag).values(articles_count=Tag.articles_count + 5))
        await session.execute(insert(Favorite).values(user_id=ann.user.id, article_id=loaded))
        await session.execute(update(Article).values(favorites_count=Article.favorites_count + 3))
    assert await kept(database) != await actual(database)

    async with database.unit_of_work() as session:
        total = await recount.recount(session)
    now = await assert_exact(database)
    assert total == now["total"]
    assert now["authors"][ann.username] == 2
    assert now["favorites"] == {posted: 1, "loaded": 1}
