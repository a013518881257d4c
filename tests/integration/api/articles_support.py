"""Helpers shared by the articles, feed, comments, tags and favorites tests."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

from conduit.db.session import Database
from conduit.domain.profiles.models import Follow
from tests.factories import MadeUser, make_user

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ARTICLE_KEYS = {
    "slug",
    "title",
    "description",
    "body",
    "tagList",
    "createdAt",
    "updatedAt",
    "favorited",
    "favoritesCount",
    "author",
}
LIST_ITEM_KEYS = ARTICLE_KEYS - {"body"}
PROFILE_KEYS = {"username", "bio", "image", "following"}


async def post_article(
    client: httpx.AsyncClient, as_user: MadeUser, /, **fields: Any
) -> dict[str, Any]:
    """Create an article over HTTP (defaults for the required fields) and return it."""
    article = {"title": "A title", "description": "A description", "body": "A body", **fields}
    response = await client.post("/api/articles", json={"article": article}, headers=as_user.auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["article"]
    return created


async def follow(app: FastAPI, follower: MadeUser, *followees: MadeUser) -> None:
    """Insert follow edges straight into the database."""
    database: Database = app.state.database
    async with database.unit_of_work() as session:
        session.add_all(
            Follow(follower_id=follower.user.id, followee_id=followee.user.id)
            for followee in followees
        )


async def favorite(client: httpx.AsyncClient, user: MadeUser, slug: str) -> dict[str, Any]:
    response = await client.post(f"/api/articles/{slug}/favorite", headers=user.auth)
    assert response.status_code == 200, response.text
    article: dict[str, Any] = response.json()["article"]
    return article


def slugs(response: httpx.Response) -> list[str]:
    return [article["slug"] for article in response.json()["articles"]]


async def crowd(
    app: FastAPI, client: httpx.AsyncClient
) -> tuple[list[MadeUser], list[MadeUser], MadeUser]:
    """Enough data for statement counts to show any per-row query.

    Three authors, 24 articles with 5 of 12 tags each, six fans favoriting every other article,
    and a viewer (the first fan) following the first two authors (16 of the articles).
    """
    authors = [await make_user(app) for _ in range(3)]
    fans = [await make_user(app) for _ in range(6)]
    viewer = fans[0]
    tag_pool = [f"tag{i:02d}" for i in range(12)]
    created = []
    for i in range(24):
        tags = [tag_pool[(i + k) % len(tag_pool)] for k in range(5)]
        created.append(await post_article(client, authors[i % 3], title=f"c{i}", tagList=tags))
    for j, fan in enumerate(fans):
        for article in created[j::2]:
            await favorite(client, fan, article["slug"])
    await follow(app, viewer, authors[0], authors[1])
    return authors, fans, viewer


async def search(client: httpx.AsyncClient, q: str, extra: str = "") -> tuple[list[str], int]:
    """The slugs and the count of ``GET /api/articles?q=q&extra`` (a 200)."""
    params = dict(pair.split("=") for pair in extra.split("&") if pair)
    response = await client.get("/api/articles", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return slugs(response), response.json()["articlesCount"]


async def check_q_combines_with_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    """A search narrowed by tag, author and favorited finds the matches that pass them."""
    alice = await make_user(app)
    bob = await make_user(app)
    fan = await make_user(app)
    a_tagged = await post_article(client, alice, title="Griffin lore", tagList=["myth"])
    a_plain = await post_article(client, alice, title="Griffin care")
    b_tagged = await post_article(client, bob, title="Griffin flights", tagList=["myth"])
    await post_article(client, bob, title="Unrelated", tagList=["myth"])
    await favorite(client, fan, a_plain["slug"])
    await favorite(client, fan, b_tagged["slug"])

    assert set((await search(client, "griffin", "tag=myth"))[0]) == {
        a_tagged["slug"],
        b_tagged["slug"],
    }
    assert set((await search(client, "griffin", f"author={alice.username}"))[0]) == {
        a_tagged["slug"],
        a_plain["slug"],
    }
    assert set((await search(client, "griffin", f"favorited={fan.username}"))[0]) == {
        a_plain["slug"],
        b_tagged["slug"],
    }
    assert await search(client, "griffin", f"tag=myth&author={bob.username}") == (
        [b_tagged["slug"]],
        1,
    )
    assert await search(client, "griffin", "tag=nope") == ([], 0)


def counted_searches(
    authors: list[MadeUser], fans: list[MadeUser], viewer: MadeUser
) -> list[tuple[str, MadeUser | None, int]]:
    """Searches over :func:`crowd`'s articles: the query, who asks, and the statements a page
    costs — authentication (1, with a token), the filter's key (1, tag or favorited), the page
    with its count (1)."""
    return [
        ("body", None, 1),
        ("body", viewer, 2),
        ("body&tag=tag03", viewer, 3),
        (f"body&author={authors[1].username}&favorited={fans[1].username}", viewer, 3),
    ]
