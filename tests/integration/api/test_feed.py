"""GET /api/articles/feed: the followed authors' live articles, newest first."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.integration.api.articles_support import (
    LIST_ITEM_KEYS,
    crowd,
    follow,
    post_article,
    slugs,
)
from tests.statements import assert_max_statements


async def test_feed_requires_a_token(client):
    response = await client.get("/api/articles/feed")
    assert response.status_code == 401
    assert response.json() == {"errors": {"token": ["is missing"]}}


async def test_a_new_users_feed_is_empty_with_count_zero(app, client):
    someone = await make_user(app)
    await post_article(client, someone)
    newcomer = await make_user(app)
    response = await client.get("/api/articles/feed", headers=newcomer.auth)
    assert response.status_code == 200
    assert response.json() == {"articles": [], "articlesCount": 0, "nextCursor": None}


async def test_feed_shows_only_followed_authors_newest_first(app, client):
    reader = await make_user(app)
    followed = await make_user(app)
    also_followed = await make_user(app)
    ignored = await make_user(app)
    expected = []
    for i in range(2):
        expected.append((await post_article(client, followed, title=f"f{i}"))["slug"])
        expected.append((await post_article(client, also_followed, title=f"g{i}"))["slug"])
        await post_article(client, ignored, title=f"i{i}")
    await post_article(client, reader, title="my own")
    await follow(app, reader, followed, also_followed)

    response = await client.get("/api/articles/feed", headers=reader.auth)
    body = response.json()
    assert slugs(response) == expected[::-1]
    assert body["articlesCount"] == 4
    for item in body["articles"]:
        assert set(item) == LIST_ITEM_KEYS
        assert item["author"]["following"] is True


async def test_feed_pages_with_limit_and_offset(app, client):
    reader = await make_user(app)
    author = await make_user(app)
    created = [(await post_article(client, author, title=f"p{i}"))["slug"] for i in range(5)]
    await follow(app, reader, author)
    response = await client.get("/api/articles/feed?limit=2&offset=1", headers=reader.auth)
    assert slugs(response) == created[::-1][1:3]
    assert response.json()["articlesCount"] == 5
    # authentication, the empty page, the count it needs
    with assert_max_statements(3):
        response = await client.get("/api/articles/feed?offset=5", headers=reader.auth)
    assert response.json() == {"articles": [], "articlesCount": 5, "nextCursor": None}


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1"])
async def test_feed_rejects_out_of_range_paging(app, client, query):
    reader = await make_user(app)
    response = await client.get(f"/api/articles/feed?{query}", headers=reader.auth)
    assert response.status_code == 422


async def test_feed_statement_count_is_flat_in_page_size_and_data(app, client):
    _authors, _fans, viewer = await crowd(app, client)
    counts = []
    for limit in (1, 100):
        # authentication (1) + the page with its count (1)
        with assert_max_statements(3) as stats:
            response = await client.get(f"/api/articles/feed?limit={limit}", headers=viewer.auth)
        body = response.json()
        assert body["articlesCount"] == 16
        assert len(body["articles"]) == min(limit, 16)
        counts.append(stats.count)
    assert counts == [2, 2]
