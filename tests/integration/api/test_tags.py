"""GET /api/tags and tag storage: sorted, distinct, live articles only, never duplicated."""

from __future__ import annotations

from sqlalchemy import func, select

from conduit.domain.tags.models import ArticleTag, Tag
from tests.factories import make_user
from tests.integration.api.articles_support import post_article
from tests.statements import assert_max_statements


async def test_no_articles_means_no_tags(client):
    response = await client.get("/api/tags")
    assert response.status_code == 200
    assert response.json() == {"tags": []}


async def test_tags_are_distinct_and_sorted_in_one_statement(app, client):
    author = await make_user(app)
    await post_article(client, author, tagList=["python", "async"])
    await post_article(client, author, tagList=["python", "databases", "Zen"])
    with assert_max_statements(1):
        response = await client.get("/api/tags")
    assert response.json() == {"tags": ["Zen", "async", "databases", "python"]}


async def test_tags_only_of_deleted_or_untagged_articles_are_not_listed(app, client):
    author = await make_user(app)
    await post_article(client, author, tagList=["shared"])
    gone = await post_article(client, author, tagList=["shared", "orphan"])
    retagged = await post_article(client, author, tagList=["dropped"])
    await client.delete(f"/api/articles/{gone['slug']}", headers=author.auth)
    await client.put(
        f"/api/articles/{retagged['slug']}", json={"article": {"tagList": []}}, headers=author.auth
    )
    assert (await client.get("/api/tags")).json() == {"tags": ["shared"]}


async def test_a_tag_used_twice_is_stored_once(app, client, database):
    alice = await make_user(app)
    bob = await make_user(app)
    await post_article(client, alice, tagList=["common", "alice"])
    await post_article(client, bob, tagList=["common", " common ", "bob"])
    async with database.unit_of_work() as session:
        names = (await session.execute(select(Tag.name).order_by(Tag.name))).scalars().all()
        links = (
            await session.execute(
                select(func.count())
                .select_from(ArticleTag)
                .join(Tag, Tag.id == ArticleTag.tag_id)
                .where(Tag.name == "common")
            )
        ).scalar_one()
    assert names == ["alice", "bob", "common"]
    assert links == 2


async def test_articles_filtered_by_tag_show_their_whole_sorted_tag_list(app, client):
    author = await make_user(app)
    await post_article(client, author, tagList=["training", "dragons"])
    article = (await client.get("/api/articles?tag=dragons")).json()["articles"][0]
    assert article["tagList"] == ["dragons", "training"]
