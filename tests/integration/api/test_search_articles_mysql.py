"""GET /api/articles?q= on MariaDB/MySQL: the InnoDB FULLTEXT index, natural-language mode.

An InnoDB full-text index sees committed rows only, so these tests run on a database of their
own whose requests commit (the other API tests write into a transaction that rolls back),
emptied after each test. InnoDB weighs a word by how few articles hold it: a word in every
article weighs nothing, so each test also publishes unrelated articles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import delete

from conduit.db.session import Database
from conduit.domain.tags.models import Tag
from conduit.domain.users.models import User
from conduit.http.app import create_app
from tests.conftest import asgi_client, make_settings
from tests.factories import MadeUser, make_user
from tests.integration.api.articles_support import (
    check_q_combines_with_filters,
    counted_searches,
    crowd,
    post_article,
    search,
    slugs,
)
from tests.integration.api.test_cursor_pages import at, follow_cursors
from tests.plans import sent_statements
from tests.statements import assert_max_statements


@pytest.fixture
async def app(mysql_committing_database: Database) -> AsyncIterator[object]:
    yield create_app(
        make_settings(mysql_committing_database.engine.url), database=mysql_committing_database
    )
    # Deleting the users and tags cascades to everything else.
    async with mysql_committing_database.unit_of_work() as session:
        await session.execute(delete(User))
        await session.execute(delete(Tag))


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


async def fillers(client, author: MadeUser, count: int = 4) -> None:
    for n in range(count):
        await post_article(
            client, author, title=f"Ledger {n}", description="Quarterly", body="Accounts"
        )


async def test_any_word_matches_in_title_description_or_body(app, client):
    author = await make_user(app)
    await fillers(client, author)
    in_title = await post_article(client, author, title="Taming a wyvern")
    in_description = await post_article(client, author, description="All about saddle making")
    in_body = await post_article(client, author, body="Then the wyvern flew away.")
    found, count = await search(client, "WYVERN saddle")
    assert set(found) == {in_title["slug"], in_description["slug"], in_body["slug"]}
    assert count == 3


async def test_more_and_rarer_words_rank_first(app, client):
    author = await make_user(app)
    await fillers(client, author)
    one = await post_article(client, author, title="Wyvern care", body="Feeding")
    both = await post_article(client, author, title="Wyvern riding", body="A saddle for it")
    twice = await post_article(client, author, title="Wyvern wyvern wyvern", body="Basilisk")
    found, count = await search(client, "wyvern saddle")
    # "saddle" is in one article, "wyvern" in three: the rarer word weighs more.
    assert found[0] == both["slug"]
    assert found[1:] == [twice["slug"], one["slug"]]
    assert count == 3


async def test_q_combines_with_tag_author_and_favorited(app, client):
    await fillers(client, await make_user(app))
    await check_q_combines_with_filters(app, client)


async def test_cursor_pages_of_a_ranked_search_follow_the_ranking(app, client):
    author = await make_user(app)
    await fillers(client, author, count=6)
    # Three ranks, and ties within each: ties are ordered newest first.
    for n in range(7):
        words = " ".join(["kraken"] * (1 + n % 3))
        await post_article(client, author, title=f"Sighting {n}", body=words)
    whole = await client.get("/api/articles", params={"q": "kraken", "limit": 20})
    expected = slugs(whole)
    assert len(expected) == whole.json()["articlesCount"] == 7
    for limit in (1, 2, 3):
        assert await follow_cursors(client, "/api/articles?q=kraken", limit=limit) == expected


@pytest.mark.parametrize("q", ["the", "a of to", "go", "is it by", "***", "-- ++", "\\", "'\""])
async def test_only_stop_words_or_short_words_match_nothing(app, client, q):
    author = await make_user(app)
    await fillers(client, author)
    await post_article(client, author, title="Go to the sea", body="It is by a river")
    response = await client.get("/api/articles", params={"q": q})
    assert response.status_code == 200, response.text
    assert response.json() == {"articles": [], "articlesCount": 0, "nextCursor": None}


@pytest.mark.parametrize("q", ["+wyvern -saddle", '"wyvern', "wyvern*", "(wyvern) @~<>", "wyvern'"])
async def test_operators_and_quotes_are_read_as_plain_words(app, client, q):
    author = await make_user(app)
    await fillers(client, author)
    article = await post_article(client, author, title="Wyvern riding", body="A saddle")
    assert await search(client, q) == ([article["slug"]], 1)


async def test_case_and_accents_are_folded(app, client):
    author = await make_user(app)
    await fillers(client, author)
    article = await post_article(client, author, title="Café CRÈME", body="Straße")
    for q in ("cafe", "CAFÉ", "creme", "strasse"):
        assert await search(client, q) == ([article["slug"]], 1), q


async def test_nul_in_q_is_422(client):
    response = await client.get("/api/articles", params={"q": "wyvern\x00"})
    assert response.status_code == 422


async def test_an_edit_is_found_once_committed_and_a_deleted_article_is_not(app, client):
    author = await make_user(app)
    await fillers(client, author)
    article = await post_article(client, author, title="Hydra heads", body="Many of them")
    gone = await post_article(client, author, title="Chimera notes")
    await client.delete(f"/api/articles/{gone['slug']}", headers=author.auth)
    response = await client.put(
        f"/api/articles/{article['slug']}",
        json={"article": {"title": "Phoenix ashes", "body": "Rebirth"}},
        headers=author.auth,
    )
    slug = response.json()["article"]["slug"]
    assert await search(client, "phoenix rebirth") == ([slug], 1)
    assert await search(client, "hydra") == ([], 0)
    assert await search(client, "chimera") == ([], 0)


@pytest.mark.parametrize("q", ["", " ", "\t\n"])
async def test_a_blank_q_is_422(client, q):
    response = await client.get("/api/articles", params={"q": q})
    assert response.status_code == 422
    assert response.json() == {"errors": {"q": ["can't be blank"]}}


async def test_the_search_reads_the_fulltext_index(app, client, mysql_committing_database):
    author = await make_user(app)
    await fillers(client, author)
    await post_article(client, author, title="Wyvern riding")
    engine = mysql_committing_database.engine
    with sent_statements(engine) as sent:
        await search(client, "wyvern")
    # A filtered search may start from its filter's index instead and MATCH the rows it reads.
    (sql, params), *_ = [(sql, params) for sql, params in sent if "MATCH (" in sql]
    async with engine.connect() as conn:
        plan = (await conn.exec_driver_sql(f"EXPLAIN {sql}", params)).mappings().all()
    assert any(
        (row["table"], row["type"], row["key"]) == ("articles", "fulltext", "ix_articles_fulltext")
        for row in plan
    ), plan


async def test_search_statement_count_is_flat_in_page_size_and_data(app, client):
    authors, fans, viewer = await crowd(app, client)  # every body is "A body"
    await fillers(client, authors[0])
    queries = counted_searches(authors, fans, viewer)
    for query, user, expected in queries:
        headers = user.auth if user is not None else {}
        first = await client.get(f"/api/articles?q={query}&limit=1", headers=headers)
        cursor = first.json()["nextCursor"]
        assert cursor is not None, query
        # authentication (1, with a token) + the key (1, tag or favorited) + the page with its
        # count (1); a cursor page counts the whole search apart (1 more), as on PostgreSQL.
        pages = (
            (f"/api/articles?q={query}&", expected),
            (at(f"/api/articles?q={query}", cursor) + "&", expected + 1),
        )
        for path, statements in pages:
            counts = []
            for limit in (1, 100):
                with assert_max_statements(4) as stats:
                    response = await client.get(f"{path}limit={limit}", headers=headers)
                assert response.status_code == 200, response.text
                assert response.json()["articlesCount"] > 0, query
                counts.append(stats.count)
            assert counts == [statements, statements], (path, counts)
