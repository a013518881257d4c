"""Every write that links a tag or a favorite copies the article's created_at exactly, and
``drift()`` reports a missing or wrong copy (which ``recount`` repairs)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from conduit.domain.articles import recount
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.tags.models import ArticleTag
from tests.factories import make_user
from tests.integration.api.articles_support import post_article


async def wrong_copies(database) -> dict[str, int]:
    async with database.unit_of_work() as session:
        found = {}
        for entity in (ArticleTag, Favorite):
            wrong = (
                select(func.count())
                .select_from(entity)
                .join(Article, Article.id == entity.article_id)
                .where(entity.article_created_at.is_distinct_from(Article.created_at))
            )
            found[entity.__tablename__] = int((await session.execute(wrong)).scalar_one())
        return found


async def test_publish_retag_and_favorite_copy_the_articles_created_at(app, client, database):
    author, reader = await make_user(app), await make_user(app)
    slugs = [(await post_article(client, author, tagList=["x", "y"]))["slug"] for _ in range(3)]
    retagged = await client.put(
        f"/api/articles/{slugs[0]}",
        json={"article": {"tagList": ["y", "z"]}},
        headers=author.auth,
    )
    assert retagged.status_code == 200
    for slug in slugs:
        response = await client.post(f"/api/articles/{slug}/favorite", headers=reader.auth)
        assert response.status_code == 200
    async with database.unit_of_work() as session:
        linked = await session.scalar(select(func.count()).select_from(ArticleTag))
        liked = await session.scalar(select(func.count()).select_from(Favorite))
    assert (linked, liked) == (6, 3)
    assert await wrong_copies(database) == {"article_tags": 0, "favorites": 0}
    async with database.unit_of_work() as session:
        assert await recount.drift(session) == []


async def test_a_wrong_copy_is_drift_and_recount_repairs_it(app, client, database):
    author, reader = await make_user(app), await make_user(app)
    slug = (await post_article(client, author, tagList=["x"]))["slug"]
    await client.post(f"/api/articles/{slug}/favorite", headers=reader.auth)
    async with database.unit_of_work() as session:
        # As an older version writes them during an upgrade: without the copy.
        await session.execute(update(ArticleTag).values(article_created_at=None))
        await session.execute(update(Favorite).values(article_created_at=None))
    async with database.unit_of_work() as session:
        found = {(d.table, d.key, d.kept) for d in await recount.drift(session)}
    assert found == {("article_tags", recount.COPIED, 1), ("favorites", recount.COPIED, 1)}
    async with database.unit_of_work() as session:
        await recount.recount(session)
    assert await wrong_copies(database) == {"article_tags": 0, "favorites": 0}
    async with database.unit_of_work() as session:
        assert await recount.drift(session) == []
