"""GET /api/articles?q=: full-text search (ranked on PostgreSQL, LIKE on SQLite), filters,
errors, statement counts, and the search vector kept current by the database.

MySQL's InnoDB full-text index sees committed rows only, and these tests write into a
transaction that rolls back: MySQL's search has its own module on a committing database
(test_search_articles_mysql.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conduit.domain.articles.models import Article
from tests.factories import make_user
from tests.integration.api.articles_support import (
    check_q_combines_with_filters,
    counted_searches,
    crowd,
    post_article,
    search,
)
from tests.statements import assert_max_statements


@pytest.fixture(autouse=True)
def _not_mysql(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("migrated_url") == "mysql":
        pytest.skip("MySQL's full-text search: test_search_articles_mysql.py")


async def test_q_searches_title_description_and_body(app, client):
    author = await make_user(app)
    in_title = await post_article(client, author, title="Taming a wyvern")
    in_description = await post_article(client, author, description="All about wyvern eggs")
    in_body = await post_article(client, author, body="Then the wyvern flew away.")
    await post_article(client, author, title="Cats", description="Purring", body="Naps")
    found, count = await search(client, "wyvern")
    assert set(found) == {in_title["slug"], in_description["slug"], in_body["slug"]}
    assert count == 3


async def test_search_is_case_insensitive(app, client):
    author = await make_user(app)
    article = await post_article(client, author, title="Kraken sightings")
    for q in ("kraken", "KRAKEN", "KrAkEn"):
        assert await search(client, q) == ([article["slug"]], 1)


async def test_every_word_must_match(app, client):
    author = await make_user(app)
    both = await post_article(client, author, title="Wyvern riding", body="A saddle for it")
    await post_article(client, author, title="Wyvern care", body="Feeding")
    assert await search(client, "wyvern saddle") == ([both["slug"]], 1)


async def test_no_match_is_an_empty_list_with_count_zero(app, client):
    author = await make_user(app)
    await post_article(client, author, title="Something else")
    response = await client.get("/api/articles?q=basilisk")
    assert response.json() == {"articles": [], "articlesCount": 0, "nextCursor": None}


async def test_q_combines_with_tag_author_and_favorited(app, client):
    await check_q_combines_with_filters(app, client)


async def test_deleted_articles_are_not_found(app, client):
    author = await make_user(app)
    gone = await post_article(client, author, title="Chimera notes")
    await client.delete(f"/api/articles/{gone['slug']}", headers=author.auth)
    assert await search(client, "chimera") == ([], 0)


async def test_an_edit_is_searchable_at_once_and_the_old_text_is_not(app, client):
    author = await make_user(app)
    article = await post_article(client, author, title="Hydra heads", body="Many of them")
    response = await client.put(
        f"/api/articles/{article['slug']}",
        json={"article": {"title": "Phoenix ashes", "body": "Rebirth"}},
        headers=author.auth,
    )
    slug = response.json()["article"]["slug"]
    assert await search(client, "phoenix") == ([slug], 1)
    assert await search(client, "rebirth") == ([slug], 1)
    assert await search(client, "hydra") == ([], 0)


@pytest.mark.parametrize("q", ["", " ", "\t\n"])
async def test_a_blank_q_is_422(client, q):
    response = await client.get("/api/articles", params={"q": q})
    assert response.status_code == 422
    assert response.json() == {"errors": {"q": ["can't be blank"]}}


async def test_a_too_long_q_is_422(client):
    response = await client.get("/api/articles", params={"q": "x" * 201})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["q"]


async def test_search_statement_count_is_flat_in_page_size_and_data(app, client):
    authors, fans, viewer = await crowd(app, client)  # every body is "A body"
    queries = counted_searches(authors, fans, viewer)
    for query, user, expected in queries:
        headers = user.auth if user is not None else {}
        counts = []
        for limit in (1, 100):
            # authentication (1, with a token) + the key (1, tag or favorited) + the page
            # with its count (1)
            with assert_max_statements(3) as stats:
                response = await client.get(
                    f"/api/articles?q={query}&limit={limit}", headers=headers
                )
            assert response.status_code == 200
            assert response.json()["articlesCount"] > 0, query
            counts.append(stats.count)
        assert counts == [expected, expected], (query, counts)


# --- PostgreSQL: ranked full-text search ---------------------------------------------------------


@pytest.fixture
def postgresql_only(dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("full-text search and ranking are PostgreSQL's")


@pytest.fixture
def sqlite_only(dialect: str) -> None:
    if dialect != "sqlite":
        pytest.skip("the LIKE fallback is SQLite's")


@pytest.mark.usefixtures("postgresql_only")
async def test_postgresql_ranks_title_above_description_above_body(app, client):
    author = await make_user(app)
    # Oldest first: the rank, not the recency, must decide.
    in_title = await post_article(client, author, title="Basilisk")
    in_description = await post_article(client, author, description="A basilisk")
    in_body = await post_article(client, author, body="There was a basilisk.")
    assert await search(client, "basilisk") == (
        [in_title["slug"], in_description["slug"], in_body["slug"]],
        3,
    )


@pytest.mark.usefixtures("postgresql_only")
async def test_postgresql_stems_and_reads_web_search_syntax(app, client):
    author = await make_user(app)
    plural = await post_article(client, author, title="Training dragons")
    other = await post_article(client, author, title="Dragon cats")
    assert set((await search(client, "dragon"))[0]) == {plural["slug"], other["slug"]}
    assert await search(client, "dragon -cats") == ([plural["slug"]], 1)
    assert await search(client, '"train dragons"') == ([plural["slug"]], 1)
    assert set((await search(client, "trained or cats"))[0]) == {plural["slug"], other["slug"]}
    # Stop words alone make an empty query: it matches nothing rather than everything.
    assert await search(client, "the") == ([], 0)


@pytest.mark.usefixtures("postgresql_only")
async def test_postgresql_keeps_the_search_vector_in_the_database(app, client, connection):
    author = await make_user(app)
    article = await post_article(client, author, title="Manticore", description="D", body="B")
    vector = await connection.exec_driver_sql(
        "SELECT search_vector::text FROM articles WHERE slug = $1", (article["slug"],)
    )
    assert vector.scalar_one() == "'b':3C 'd':2B 'manticor':1A"


@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_orders_matches_newest_first(app, client):
    author = await make_user(app)
    in_title = await post_article(client, author, title="Basilisk")
    in_body = await post_article(client, author, body="There was a basilisk.")
    assert await search(client, "basilisk") == ([in_body["slug"], in_title["slug"]], 2)


@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_matches_substrings_and_takes_wildcards_literally(app, client):
    author = await make_user(app)
    underscored = await post_article(client, author, title="snake_case names")
    await post_article(client, author, title="snakeXcase names")
    percent = await post_article(client, author, body="100% sure")
    assert await search(client, "snake_case") == ([underscored["slug"]], 1)
    assert await search(client, "100%") == ([percent["slug"]], 1)
    assert await search(client, "%") == ([percent["slug"]], 1)
    assert await search(client, "ake_ca") == ([underscored["slug"]], 1)


@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_has_the_column_but_leaves_it_empty(app, client, connection):
    # One table shape on every dialect; SQLite and MySQL search the text columns themselves.
    author = await make_user(app)
    article = await post_article(client, author, title="Manticore")
    vector = await connection.execute(
        select(Article.__table__.c.search_vector).where(Article.slug == article["slug"])
    )
    assert vector.scalar_one() is None
