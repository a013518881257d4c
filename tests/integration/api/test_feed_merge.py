"""The feed's pages are exactly the list order kept to the followed authors, on every dialect.

PostgreSQL merges the followed authors' newest articles (bounded below by the newest article
of the page's depth-th most recent author); the others walk the list order. Times are shared
by many articles across authors (the id breaks the ties), one author writes most of the
newest, one author's newest article is deleted, one writes nothing: every offset and cursor
page must be the list's own order.
"""

from __future__ import annotations

import datetime as dt

from tests.factories import MadeUser, make_user
from tests.integration.api.admin_support import insert_article
from tests.integration.api.articles_support import follow

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
# Few instants for many articles: ties within and across authors.
INSTANTS = [START + dt.timedelta(minutes=m) for m in range(8)]


async def followed_world(app) -> tuple[MadeUser, list[MadeUser]]:
    """A reader of 12 authors among 14 (one writing nothing), and those 12."""
    authors = [await make_user(app) for _ in range(14)]
    for n, author in enumerate(authors[:12]):
        # 0 to 3 articles, on instants that repeat across authors.
        for k in range(n % 4):
            await insert_article(app, author, created_at=INSTANTS[(n * 3 + k * 5) % 8])
    prolific = authors[1]
    for k in range(14):  # most of the newest: the page's floor is far below them
        await insert_article(app, prolific, created_at=INSTANTS[-1] + dt.timedelta(seconds=k // 2))
    # An author whose newest is deleted: the floor is taken from live articles only.
    await insert_article(
        app, authors[2], created_at=INSTANTS[-1] + dt.timedelta(hours=1), deleted_at=START
    )
    # Not followed, on the same instants.
    for author in authors[12:]:
        for instant in INSTANTS[::3]:
            await insert_article(app, author, created_at=instant)
    reader = await make_user(app)
    await follow(app, reader, *authors[:12])
    return reader, authors[:12]


async def expected_feed(client, followed: list[MadeUser]) -> list[str]:
    names = {author.username for author in followed}
    listing = (await client.get("/api/articles?limit=100")).json()
    assert listing["articlesCount"] < 100
    return [a["slug"] for a in listing["articles"] if a["author"]["username"] in names]


async def test_every_feed_page_is_the_list_order_of_the_followed_authors(app, client):
    reader, followed = await followed_world(app)
    expected = await expected_feed(client, followed)
    assert len(expected) == 18 + 14
    for limit in (1, 3, 7, 20):
        for offset in sorted({0, 1, 2, 5, 13, len(expected) - 1, len(expected)}):
            response = await client.get(
                f"/api/articles/feed?limit={limit}&offset={offset}", headers=reader.auth
            )
            body = response.json()
            assert [a["slug"] for a in body["articles"]] == expected[offset : offset + limit], (
                limit,
                offset,
            )
            assert body["articlesCount"] == len(expected)


async def test_the_feed_read_by_cursor_is_the_list_order_of_the_followed_authors(app, client):
    reader, followed = await followed_world(app)
    expected = await expected_feed(client, followed)
    for limit in (1, 4, 20):
        seen: list[str] = []
        url = f"/api/articles/feed?limit={limit}"
        while True:
            body = (await client.get(url, headers=reader.auth)).json()
            seen += [a["slug"] for a in body["articles"]]
            assert body["articlesCount"] == len(expected)
            if body["nextCursor"] is None:
                break
            url = f"/api/articles/feed?limit={limit}&cursor={body['nextCursor']}"
        assert seen == expected, limit
