"""Cursor pages on GET /api/articles and GET /api/articles/feed: nextCursor, continuing after it,
stability while articles are published, refusal of bad cursors, and statement counts."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_SECRET, asgi_client, make_settings
from tests.factories import make_user
from tests.integration.api.articles_support import crowd, favorite, follow, post_article, slugs
from tests.statements import assert_max_statements

INVALID = {"errors": {"cursor": ["is invalid"]}}


def at(path: str, cursor: str) -> str:
    """``path`` with ``cursor`` added to its query (cursors are URL-safe as issued)."""
    return f"{path}{'&' if '?' in path else '?'}cursor={cursor}"


async def follow_cursors(client, path: str, *, limit: int, headers=None, between=None) -> list[str]:
    """Every slug of ``path``, page by page through nextCursor; ``between()`` runs between pages."""
    separator = "&" if "?" in path else "?"
    response = await client.get(f"{path}{separator}limit={limit}", headers=headers or {})
    seen = slugs(response)
    while (cursor := response.json()["nextCursor"]) is not None:
        assert len(slugs(response)) == limit
        if between is not None:
            await between()
        response = await client.get(
            at(f"{path}{separator}limit={limit}", cursor), headers=headers or {}
        )
        assert response.status_code == 200, response.text
        seen += slugs(response)
    return seen


async def test_next_cursor_is_null_when_everything_fits(app, client):
    author = await make_user(app)
    for i in range(3):
        await post_article(client, author, title=f"f{i}")
    body = (await client.get("/api/articles?limit=3")).json()
    assert len(body["articles"]) == 3
    assert body["nextCursor"] is None


async def test_following_cursors_lists_everything_once_newest_first(app, client):
    author = await make_user(app)
    created = [(await post_article(client, author, title=f"p{i}"))["slug"] for i in range(7)]
    for limit in (1, 2, 3, 7):
        assert await follow_cursors(client, "/api/articles", limit=limit) == created[::-1]


async def test_a_cursor_page_keeps_the_total_of_the_filtered_set(app, client):
    author = await make_user(app)
    other = await make_user(app)
    for i in range(5):
        await post_article(client, author, title=f"t{i}", tagList=["kept"])
    await post_article(client, other, title="untagged")
    first = (await client.get("/api/articles?tag=kept&limit=2")).json()
    assert first["articlesCount"] == 5
    second = await client.get(at("/api/articles?tag=kept&limit=2", first["nextCursor"]))
    assert second.json()["articlesCount"] == 5
    assert len(second.json()["articles"]) == 2


async def test_an_offset_page_hands_out_a_cursor_that_continues_after_it(app, client):
    author = await make_user(app)
    created = [(await post_article(client, author, title=f"o{i}"))["slug"] for i in range(6)]
    newest_first = created[::-1]
    page = (await client.get("/api/articles?limit=2&offset=1")).json()
    assert [a["slug"] for a in page["articles"]] == newest_first[1:3]
    response = await client.get(at("/api/articles?limit=10", page["nextCursor"]))
    assert slugs(response) == newest_first[3:]
    assert response.json()["nextCursor"] is None


async def test_cursors_are_stable_while_newer_articles_are_published(app, client):
    author = await make_user(app)
    snapshot = [(await post_article(client, author, title=f"s{i}"))["slug"] for i in range(8)][::-1]
    published = []

    async def publish_two() -> None:
        published.append(await post_article(client, author, title="newer"))
        published.append(await post_article(client, author, title="newer still"))

    # Offsets would shift by two per page (repeating articles); cursors do not move.
    seen = await follow_cursors(
        client, f"/api/articles?author={author.username}", limit=3, between=publish_two
    )
    assert seen == snapshot
    assert len(published) == 4
    total = (await client.get("/api/articles")).json()["articlesCount"]
    assert total == 12


async def test_offsets_would_have_repeated_articles(app, client):
    # The contrast with the test above: the same inserts under offset paging.
    author = await make_user(app)
    snapshot = [(await post_article(client, author, title=f"s{i}"))["slug"] for i in range(6)][::-1]
    first = slugs(await client.get("/api/articles?limit=3"))
    await post_article(client, author, title="newer")
    second = slugs(await client.get("/api/articles?limit=3&offset=3"))
    assert first + second != snapshot
    assert second[0] == first[-1]


async def test_the_feed_is_stable_under_cursors_too(app, client):
    reader = await make_user(app)
    author = await make_user(app)
    await follow(app, reader, author)
    snapshot = [(await post_article(client, author, title=f"f{i}"))["slug"] for i in range(7)][::-1]

    async def publish() -> None:
        await post_article(client, author, title="newer")

    seen = await follow_cursors(
        client, "/api/articles/feed", limit=2, headers=reader.auth, between=publish
    )
    assert seen == snapshot


async def test_a_cursor_survives_the_deletion_of_the_article_it_points_at(app, client):
    author = await make_user(app)
    created = [(await post_article(client, author, title=f"d{i}"))["slug"] for i in range(5)]
    newest_first = created[::-1]
    first = (await client.get("/api/articles?limit=2")).json()
    await client.delete(f"/api/articles/{newest_first[1]}", headers=author.auth)
    response = await client.get(at("/api/articles?limit=2", first["nextCursor"]))
    assert slugs(response) == newest_first[2:4]
    assert response.json()["articlesCount"] == 4


async def test_a_search_pages_by_cursor(app, client, dialect):
    if dialect == "mysql":
        pytest.skip("InnoDB full-text sees committed rows only: test_search_articles_mysql.py")
    author = await make_user(app)
    created = []
    for i in range(5):
        # Ranked on PostgreSQL: the more mentions, the higher; on SQLite newest first.
        body = " ".join(["roc"] * (i + 1))
        created.append((await post_article(client, author, title=f"r{i}", body=body))["slug"])
    expected = created[::-1]  # most mentions is also newest: the same order on both
    seen = await follow_cursors(client, "/api/articles?q=roc", limit=2)
    assert seen == expected


async def test_cursor_pages_cost_the_same_at_limit_one_and_one_hundred(app, client, dialect):
    _authors, fans, viewer = await crowd(app, client)
    cases = [
        # Where a count is kept, the page carries it: no statement to count.
        ("/api/articles?", None, 1),
        ("/api/articles?", viewer, 2),
        # The reader's favorites are counted too (users.favorites_count); a tag or favorited
        # filter looks its key up first (1), so the page is planned with its statistics.
        ("/api/articles?tag=tag03&", viewer, 3),
        (f"/api/articles?favorited={fans[2].username}&", viewer, 3),
        ("/api/articles?q=body&", viewer, 3),
        ("/api/articles/feed?", viewer, 2),
    ]
    if dialect == "mysql":
        # InnoDB full-text sees committed rows only: test_search_articles_mysql.py counts it.
        cases = [case for case in cases if "q=" not in case[0]]
    for path, user, expected in cases:
        headers = user.auth if user is not None else {}
        cursor = (await client.get(f"{path}limit=1", headers=headers)).json()["nextCursor"]
        assert cursor is not None, path
        counts = []
        for limit in (1, 100):
            # authentication (1, with a token) + the page (1) + the total (1, unless kept)
            with assert_max_statements(3) as stats:
                response = await client.get(at(f"{path}limit={limit}", cursor), headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["articlesCount"] > 0
            counts.append(stats.count)
        assert counts == [expected, expected], (path, counts)


# --- refused cursors -----------------------------------------------------------------------------


async def two_pages_of_articles(app, client):
    author = await make_user(app)
    for i in range(4):
        await post_article(client, author, title=f"x{i}", tagList=["tagged"])
    body = (await client.get("/api/articles?tag=tagged&limit=2")).json()
    return author, body["nextCursor"]


def edited(cursor: str) -> str:
    at = 5
    return cursor[:at] + ("A" if cursor[at] != "A" else "B") + cursor[at + 1 :]


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda cursor: "garbage",
        lambda cursor: "",
        lambda cursor: cursor[:-3],
        lambda cursor: cursor + "x",
        edited,
        lambda cursor: cursor.replace(".", ""),
        lambda cursor: "x" * 5000,
    ],
    ids=["garbage", "empty", "truncated", "extended", "edited", "no-dot", "huge"],
)
async def test_a_malformed_or_altered_cursor_is_422(app, client, make_bad):
    _author, cursor = await two_pages_of_articles(app, client)
    response = await client.get(at("/api/articles?tag=tagged", make_bad(cursor)))
    assert response.status_code == 422
    assert response.json() == INVALID


@pytest.mark.parametrize(
    "other_filters",
    ["", "tag=other", "tag=tagged&author=someone", "tag=tagged&q=words", "tag=tagged&favorited=x"],
)
async def test_a_cursor_issued_for_other_filters_is_422(app, client, other_filters):
    _author, cursor = await two_pages_of_articles(app, client)
    response = await client.get(at(f"/api/articles?{other_filters}", cursor))
    assert response.status_code == 422
    assert response.json() == INVALID


async def test_list_and_feed_cursors_do_not_mix_nor_pass_between_readers(app, client):
    reader = await make_user(app)
    other_reader = await make_user(app)
    author = await make_user(app)
    await follow(app, reader, author)
    await follow(app, other_reader, author)
    for i in range(3):
        await post_article(client, author, title=f"m{i}")
    feed_cursor = (await client.get("/api/articles/feed?limit=1", headers=reader.auth)).json()[
        "nextCursor"
    ]
    list_cursor = (await client.get("/api/articles?limit=1")).json()["nextCursor"]
    attempts = [
        ("/api/articles", feed_cursor, {}),
        ("/api/articles/feed", list_cursor, reader.auth),
        ("/api/articles/feed", feed_cursor, other_reader.auth),
    ]
    for path, cursor, headers in attempts:
        response = await client.get(at(path, cursor), headers=headers)
        assert response.status_code == 422, path
        assert response.json() == INVALID
    ok = await client.get(at("/api/articles/feed", feed_cursor), headers=reader.auth)
    assert ok.status_code == 200


async def test_a_cursor_signed_with_another_secret_is_422(app, client, settings, database):
    from conduit.http.app import create_app  # noqa: PLC0415 - a second app for this test only

    _author, cursor = await two_pages_of_articles(app, client)
    assert TEST_SECRET != "another-secret-key-with-enough-length-for-hs256"
    other = create_app(
        make_settings(
            settings.database_url, secret_key="another-secret-key-with-enough-length-for-hs256"
        ),
        database=database,
    )
    async with asgi_client(other) as elsewhere:
        response = await elsewhere.get(at("/api/articles?tag=tagged", cursor))
    assert response.status_code == 422
    assert response.json() == INVALID


@pytest.mark.parametrize("path", ["/api/articles", "/api/articles/feed"])
@pytest.mark.parametrize("offset", ["0", "2"])
async def test_cursor_and_offset_together_is_422(app, client, path, offset):
    reader = await make_user(app)
    author = await make_user(app)
    await follow(app, reader, author)
    for i in range(3):
        await post_article(client, author, title=f"c{i}")
    cursor = (await client.get(f"{path}?limit=1", headers=reader.auth)).json()["nextCursor"]
    response = await client.get(at(f"{path}?offset={offset}", cursor), headers=reader.auth)
    assert response.status_code == 422
    assert response.json() == {"errors": {"cursor": ["cannot be combined with offset"]}}


async def test_a_refused_cursor_costs_no_statement(app, client):
    await two_pages_of_articles(app, client)
    with assert_max_statements(0):
        response = await client.get(at("/api/articles", "garbage"))
    assert response.status_code == 422


async def test_flags_are_the_viewers_on_cursor_pages_too(app, client):
    author = await make_user(app)
    viewer = await make_user(app)
    created = [(await post_article(client, author, title=f"v{i}"))["slug"] for i in range(3)]
    await follow(app, viewer, author)
    await favorite(client, viewer, created[0])
    cursor = (await client.get("/api/articles?limit=2", headers=viewer.auth)).json()["nextCursor"]
    response = await client.get(at("/api/articles", cursor), headers=viewer.auth)
    (oldest,) = response.json()["articles"]
    assert oldest["slug"] == created[0]
    assert oldest["favorited"] is True
    assert oldest["favoritesCount"] == 1
    assert oldest["author"]["following"] is True
