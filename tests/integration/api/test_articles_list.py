"""GET /api/articles: order, filters, pagination, list-item shape, and flat statement counts."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.integration.api.articles_support import (
    LIST_ITEM_KEYS,
    crowd,
    favorite,
    follow,
    post_article,
    slugs,
)
from tests.statements import assert_max_statements


async def test_an_empty_list_has_count_zero(client):
    response = await client.get("/api/articles")
    assert response.status_code == 200
    assert response.json() == {"articles": [], "articlesCount": 0, "nextCursor": None}


async def test_list_is_newest_first_and_items_omit_the_body(app, client):
    author = await make_user(app)
    created = [await post_article(client, author, title=f"n{i}") for i in range(3)]
    response = await client.get("/api/articles")
    body = response.json()
    assert slugs(response) == [a["slug"] for a in reversed(created)]
    assert body["articlesCount"] == 3
    for item, article in zip(body["articles"], reversed(created), strict=True):
        assert set(item) == LIST_ITEM_KEYS
        assert item == {key: value for key, value in article.items() if key != "body"}


async def test_limit_and_offset_page_through_and_the_count_is_the_total(app, client):
    author = await make_user(app)
    created = [(await post_article(client, author, title=f"p{i}"))["slug"] for i in range(5)]
    newest_first = created[::-1]
    pages = []
    for offset in (0, 2, 4):
        response = await client.get(f"/api/articles?limit=2&offset={offset}")
        assert response.json()["articlesCount"] == 5
        pages.append(slugs(response))
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]


async def test_a_page_past_the_end_is_empty_but_still_counts_the_total(app, client):
    author = await make_user(app)
    for i in range(3):
        await post_article(client, author, title=f"e{i}")
    # the page, then the separate count that an empty page needs
    with assert_max_statements(2):
        response = await client.get("/api/articles?offset=10")
    assert response.json() == {"articles": [], "articlesCount": 3, "nextCursor": None}


async def test_limit_defaults_to_twenty(app, client):
    author = await make_user(app)
    for i in range(21):
        await post_article(client, author, title=f"d{i}")
    body = (await client.get("/api/articles")).json()
    assert len(body["articles"]) == 20
    assert body["articlesCount"] == 21


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=-1", "offset=-1", "limit=abc", "offset=1.5"],
)
async def test_out_of_range_paging_is_422(client, query):
    response = await client.get(f"/api/articles?{query}")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [query.split("=")[0]]


async def test_limit_of_one_hundred_is_allowed(client):
    assert (await client.get("/api/articles?limit=100")).status_code == 200


async def test_filter_by_tag_author_and_favorited(app, client):
    alice = await make_user(app)
    bob = await make_user(app)
    fan = await make_user(app)
    a1 = await post_article(client, alice, tagList=["dragons", "training"])
    a2 = await post_article(client, alice, tagList=["cats"])
    b1 = await post_article(client, bob, tagList=["dragons"])
    await favorite(client, fan, a2["slug"])
    await favorite(client, fan, b1["slug"])

    async def listed(query: str) -> tuple[list[str], int]:
        response = await client.get(f"/api/articles?{query}")
        assert response.status_code == 200
        return slugs(response), response.json()["articlesCount"]

    assert await listed("tag=dragons") == ([b1["slug"], a1["slug"]], 2)
    assert await listed(f"author={alice.username}") == ([a2["slug"], a1["slug"]], 2)
    assert await listed(f"favorited={fan.username}") == ([b1["slug"], a2["slug"]], 2)
    assert await listed(f"tag=dragons&author={bob.username}") == ([b1["slug"]], 1)
    assert await listed(f"tag=cats&favorited={fan.username}") == ([a2["slug"]], 1)
    for unknown in ("tag=nope", "author=nobody", "favorited=nobody"):
        assert await listed(unknown) == ([], 0)

    tagged = (await client.get("/api/articles?tag=dragons")).json()["articles"]
    assert tagged[1]["tagList"] == ["dragons", "training"]


async def test_list_flags_are_the_viewers_own(app, client):
    author = await make_user(app)
    viewer = await make_user(app)
    stranger = await make_user(app)
    liked = await post_article(client, author)
    other = await post_article(client, stranger)
    await follow(app, viewer, author)
    await favorite(client, viewer, liked["slug"])
    await favorite(client, stranger, liked["slug"])

    items = {
        a["slug"]: a
        for a in (await client.get("/api/articles", headers=viewer.auth)).json()["articles"]
    }
    assert items[liked["slug"]]["favorited"] is True
    assert items[liked["slug"]]["favoritesCount"] == 2
    assert items[liked["slug"]]["author"]["following"] is True
    assert items[other["slug"]]["favorited"] is False
    assert items[other["slug"]]["author"]["following"] is False

    anonymous = (await client.get("/api/articles")).json()["articles"]
    assert all(a["favorited"] is False and a["author"]["following"] is False for a in anonymous)


async def test_list_statement_count_is_flat_in_page_size_and_data(app, client):
    authors, fans, viewer = await crowd(app, client)
    queries = [
        ("", None, 1),
        ("", viewer, 2),
        # A tag or favorited filter looks its key up first (1), so the page is planned with
        # the key's statistics.
        ("tag=tag03&", None, 2),
        ("tag=tag03&", viewer, 3),
        (f"author={authors[1].username}&", viewer, 2),
        (f"favorited={fans[2].username}&", viewer, 3),
        (f"tag=tag05&author={authors[2].username}&favorited={fans[1].username}&", viewer, 3),
    ]
    for query, user, expected in queries:
        headers = user.auth if user is not None else {}
        counts = []
        for limit in (1, 100):
            # authentication (1, with a token) + the key (1, tag or favorited) + the page
            # with its count (1)
            with assert_max_statements(3) as stats:
                response = await client.get(f"/api/articles?{query}limit={limit}", headers=headers)
            assert response.status_code == 200
            assert response.json()["articlesCount"] > 0, query
            counts.append(stats.count)
        assert counts == [expected, expected], (query, counts)
