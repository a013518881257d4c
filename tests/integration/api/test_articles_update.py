"""Editing and soft-deleting articles: permissions, tag semantics, timestamps, statement counts."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from conduit.domain.articles.models import Article
from tests.factories import make_user
from tests.integration.api.articles_support import TIMESTAMP, follow, post_article
from tests.statements import assert_max_statements, mysql_extra


async def put(client, user, slug, /, **fields):
    return await client.put(f"/api/articles/{slug}", json={"article": fields}, headers=user.auth)


async def test_update_changes_only_the_given_fields_in_three_statements(app, client, dialect):
    author = await make_user(app)
    created = await post_article(client, author, tagList=["keep"])
    # authenticate, read the article, update it
    with assert_max_statements(3 + mysql_extra(dialect)) as stats:
        response = await put(client, author, created["slug"], body="With two hands")
    assert stats.count == 3 + mysql_extra(dialect)
    assert response.status_code == 200
    article = response.json()["article"]
    assert article["body"] == "With two hands"
    assert article["title"] == created["title"]
    assert article["description"] == created["description"]
    assert article["slug"] == created["slug"]
    assert article["tagList"] == ["keep"]
    assert (await client.get(f"/api/articles/{created['slug']}")).json() == {"article": article}


async def test_updated_at_changes_on_every_update_and_created_at_never(app, client):
    author = await make_user(app)
    created = await post_article(client, author)
    seen = [created["updatedAt"]]
    for body in ("one", "two"):
        await asyncio.sleep(0.002)  # the timestamps have millisecond resolution
        article = (await put(client, author, created["slug"], body=body)).json()["article"]
        assert article["createdAt"] == created["createdAt"]
        assert TIMESTAMP.match(article["updatedAt"])
        seen.append(article["updatedAt"])
    assert seen == sorted(seen)
    assert len(set(seen)) == 3


async def test_a_new_title_gives_a_new_slug_and_the_old_one_is_gone(app, client):
    author = await make_user(app)
    created = await post_article(client, author, title="Old title")
    article = (await put(client, author, created["slug"], title="New title")).json()["article"]
    assert article["title"] == "New title"
    assert article["slug"].startswith("new-title-")
    assert (await client.get(f"/api/articles/{created['slug']}")).status_code == 404
    assert (await client.get(f"/api/articles/{article['slug']}")).status_code == 200


async def test_sending_the_same_title_keeps_the_slug(app, client):
    author = await make_user(app)
    created = await post_article(client, author, title="Stable")
    article = (await put(client, author, created["slug"], title=" Stable ")).json()["article"]
    assert article["slug"] == created["slug"]


async def test_omitted_tag_list_keeps_the_tags(app, client):
    author = await make_user(app)
    created = await post_article(client, author, tagList=["a", "b"])
    article = (await put(client, author, created["slug"], title="x")).json()["article"]
    assert article["tagList"] == ["a", "b"]


async def test_empty_tag_list_clears_the_tags_in_six_statements(app, client, dialect):
    author = await make_user(app)
    created = await post_article(client, author, tagList=["a", "b"])
    # authenticate, read, update, unlink the tags, count them down (lock in order, update)
    with assert_max_statements(6 + mysql_extra(dialect)) as stats:
        response = await put(client, author, created["slug"], tagList=[])
    assert stats.count == 6 + mysql_extra(dialect)
    assert response.json()["article"]["tagList"] == []
    fetched = (await client.get(f"/api/articles/{created['slug']}")).json()["article"]
    assert fetched["tagList"] == []


async def test_a_new_tag_list_replaces_the_tags_in_eight_statements(app, client, dialect):
    author = await make_user(app)
    created = await post_article(client, author, tagList=["a", "b"])
    # authenticate, read, update, unlink, upsert the tags, link them, adjust the tag counts
    # (lock in order, update)
    with assert_max_statements(8 + mysql_extra(dialect)) as stats:
        response = await put(client, author, created["slug"], tagList=["c", " b", "c"])
    assert stats.count == 8 + mysql_extra(dialect)
    assert response.json()["article"]["tagList"] == ["b", "c"]
    fetched = (await client.get(f"/api/articles/{created['slug']}")).json()["article"]
    assert fetched["tagList"] == ["b", "c"]


@pytest.mark.parametrize("field", ["title", "description", "body", "tagList"])
async def test_update_rejects_null(app, client, field):
    author = await make_user(app)
    created = await post_article(client, author)
    response = await put(client, author, created["slug"], **{field: None})
    assert response.status_code == 422
    assert response.json() == {"errors": {field: ["can't be blank"]}}


@pytest.mark.parametrize("field", ["title", "description", "body"])
async def test_update_rejects_blank_text(app, client, field):
    author = await make_user(app)
    created = await post_article(client, author)
    response = await put(client, author, created["slug"], **{field: "  "})
    assert response.status_code == 422
    assert response.json() == {"errors": {field: ["can't be blank"]}}


async def test_update_ignores_server_owned_fields(app, client):
    author = await make_user(app)
    created = await post_article(client, author)
    response = await put(
        client, author, created["slug"], slug="mine", favoritesCount=5, createdAt="2000-01-01"
    )
    article = response.json()["article"]
    assert article["slug"] == created["slug"]
    assert article["favoritesCount"] == 0
    assert article["createdAt"] == created["createdAt"]


async def test_update_keeps_the_viewer_flags(app, client):
    author = await make_user(app)
    created = await post_article(client, author)
    await client.post(f"/api/articles/{created['slug']}/favorite", headers=author.auth)
    article = (await put(client, author, created["slug"], body="b2")).json()["article"]
    assert article["favorited"] is True
    assert article["favoritesCount"] == 1


@pytest.mark.parametrize("role", ["user", "moderator", "admin"])
async def test_editing_someone_elses_article_is_403(app, client, role):
    author = await make_user(app)
    other = await make_user(app, role=role)
    created = await post_article(client, author)
    response = await put(client, other, created["slug"], body="mine now")
    assert response.status_code == 403
    assert response.json() == {"errors": {"article": ["forbidden"]}}


async def test_update_of_unknown_article_is_404_and_without_token_401(app, client):
    author = await make_user(app)
    response = await put(client, author, "missing", body="x")
    assert response.status_code == 404
    assert response.json() == {"errors": {"article": ["not found"]}}
    response = await client.put("/api/articles/missing", json={"article": {"body": "x"}})
    assert response.status_code == 401


async def test_delete_answers_204_with_an_empty_body_in_six_statements(
    app, client, database, dialect
):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    # authenticate, mark it deleted (guarded), count it out (total; author and fans: lock in
    # order, update; tags: lock in order, none here)
    with assert_max_statements(6 + mysql_extra(dialect, 2)) as stats:
        response = await client.delete(f"/api/articles/{slug}", headers=author.auth)
    assert stats.count == 6 + mysql_extra(dialect, 2)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404
    # Soft: the row is still there, marked.
    async with database.unit_of_work() as session:
        deleted_at = (
            await session.execute(select(Article.deleted_at).where(Article.slug == slug))
        ).scalar_one()
    assert deleted_at is not None


async def test_deleting_twice_is_404(app, client):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    await client.delete(f"/api/articles/{slug}", headers=author.auth)
    response = await client.delete(f"/api/articles/{slug}", headers=author.auth)
    assert response.status_code == 404
    assert response.json() == {"errors": {"article": ["not found"]}}


async def test_deleting_someone_elses_article_is_403(app, client):
    author = await make_user(app)
    other = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    response = await client.delete(f"/api/articles/{slug}", headers=other.auth)
    assert response.status_code == 403
    assert response.json() == {"errors": {"article": ["forbidden"]}}
    assert (await client.get(f"/api/articles/{slug}")).status_code == 200


@pytest.mark.parametrize("role", ["moderator", "admin"])
async def test_moderators_and_admins_may_delete_any_article(app, client, role):
    author = await make_user(app)
    moderator = await make_user(app, role=role)
    slug = (await post_article(client, author))["slug"]
    response = await client.delete(f"/api/articles/{slug}", headers=moderator.auth)
    assert response.status_code == 204
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404


async def test_delete_without_token_is_401(app, client):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    assert (await client.delete(f"/api/articles/{slug}")).status_code == 401


async def test_a_deleted_article_disappears_from_every_read(app, client):
    author = await make_user(app)
    fan = await make_user(app)
    kept = await post_article(client, author, tagList=["shared"])
    gone = await post_article(client, author, tagList=["shared", "only-deleted"])
    await client.post(f"/api/articles/{gone['slug']}/favorite", headers=fan.auth)
    comment = {"comment": {"body": "c"}}
    await client.post(f"/api/articles/{gone['slug']}/comments", json=comment, headers=fan.auth)
    await follow(app, fan, author)
    response = await client.delete(f"/api/articles/{gone['slug']}", headers=author.auth)
    assert response.status_code == 204

    feed = (await client.get("/api/articles/feed", headers=fan.auth)).json()
    assert [a["slug"] for a in feed["articles"]] == [kept["slug"]]
    assert feed["articlesCount"] == 1

    for query in ("", f"?author={author.username}", "?tag=shared", f"?favorited={fan.username}"):
        listed = (await client.get(f"/api/articles{query}")).json()
        assert gone["slug"] not in [a["slug"] for a in listed["articles"]]
        assert listed["articlesCount"] == (0 if "favorited" in query else 1)
    assert (await client.get("/api/articles?tag=only-deleted")).json()["articlesCount"] == 0
    assert (await client.get("/api/tags")).json() == {"tags": ["shared"]}
    for path in ("", "/comments"):
        response = await client.get(f"/api/articles/{gone['slug']}{path}")
        assert response.status_code == 404
    for method in ("POST", "DELETE"):
        response = await client.request(
            method, f"/api/articles/{gone['slug']}/favorite", headers=fan.auth
        )
        assert response.status_code == 404
    assert (await put(client, author, gone["slug"], body="x")).status_code == 404
    assert kept["slug"] in [
        a["slug"] for a in (await client.get("/api/articles")).json()["articles"]
    ]
