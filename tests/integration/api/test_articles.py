"""Creating and reading single articles: shapes, validation, slugs, timestamps, statement counts."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.integration.api.articles_support import (
    ARTICLE_KEYS,
    PROFILE_KEYS,
    SLUG,
    TIMESTAMP,
    follow,
    post_article,
)
from tests.statements import assert_max_statements, mysql_extra

DRAGON = {
    "title": "How to train your dragon",
    "description": "Ever wonder how?",
    "body": "Very carefully.",
    "tagList": ["training", "dragons"],
}


async def test_create_article_answers_201_with_the_whole_article(app, client, dialect):
    author = await make_user(app, bio="I train dragons", image="https://img.example/me.png")
    # authenticate, insert the article, upsert its tags, link them, count it in (total, author,
    # tags: lock in order, update)
    with assert_max_statements(8 + mysql_extra(dialect, 2)) as stats:
        response = await client.post("/api/articles", json={"article": DRAGON}, headers=author.auth)
    assert stats.count == 8 + mysql_extra(dialect, 2)
    assert response.status_code == 201
    article = response.json()["article"]
    assert set(article) == ARTICLE_KEYS
    assert article["title"] == DRAGON["title"]
    assert article["description"] == DRAGON["description"]
    assert article["body"] == DRAGON["body"]
    assert article["tagList"] == ["dragons", "training"]
    assert article["favorited"] is False
    assert article["favoritesCount"] == 0
    assert article["author"] == {
        "username": author.username,
        "bio": "I train dragons",
        "image": "https://img.example/me.png",
        "following": False,
    }
    assert SLUG.match(article["slug"])
    assert article["slug"].startswith("how-to-train-your-dragon-")
    assert TIMESTAMP.match(article["createdAt"])
    assert article["updatedAt"] == article["createdAt"]


async def test_create_article_without_tags_costs_four_statements(app, client, dialect):
    author = await make_user(app)
    body = {"article": {"title": "t", "description": "d", "body": "b"}}
    # authenticate, insert the article, count it in (total, author)
    with assert_max_statements(4 + mysql_extra(dialect)) as stats:
        response = await client.post("/api/articles", json=body, headers=author.auth)
    assert stats.count == 4 + mysql_extra(dialect)
    assert response.status_code == 201
    assert response.json()["article"]["tagList"] == []


async def test_created_article_reads_back_exactly_as_created(app, client):
    author = await make_user(app)
    created = await post_article(client, author, **DRAGON)
    response = await client.get(f"/api/articles/{created['slug']}")
    assert response.status_code == 200
    assert response.json() == {"article": created}


async def test_get_article_costs_one_statement_anonymously_and_with_a_token_on_postgres(
    app, client, dialect
):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    with assert_max_statements(1):
        assert (await client.get(f"/api/articles/{slug}")).status_code == 200
    # PostgreSQL checks the reader's account in the article's statement; elsewhere it is its own.
    with assert_max_statements(1 if dialect == "postgresql" else 2):
        assert (await client.get(f"/api/articles/{slug}", headers=author.auth)).status_code == 200


@pytest.mark.parametrize("published", [True, False], ids=["article", "no-article"])
async def test_get_article_refuses_a_token_of_a_deactivated_or_changed_account(
    app, client, published
):
    author = await make_user(app)
    gone = await make_user(app, is_active=False)
    slug = (await post_article(client, author))["slug"] if published else "no-such-article"
    # Issued before a password change: the account's tokens are at a later version now.
    stale = {"Authorization": f"Token {app.state.tokens.issue(author.user.id, version=1)}"}
    for headers in (gone.auth, stale):
        response = await client.get(f"/api/articles/{slug}", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"errors": {"token": ["is invalid"]}}
        assert response.headers["www-authenticate"] == "Token"


async def test_get_article_shows_the_viewers_favorite_and_follow(app, client):
    author = await make_user(app)
    reader = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    await follow(app, reader, author)
    await client.post(f"/api/articles/{slug}/favorite", headers=reader.auth)

    as_reader = (await client.get(f"/api/articles/{slug}", headers=reader.auth)).json()["article"]
    assert as_reader["favorited"] is True
    assert as_reader["favoritesCount"] == 1
    assert as_reader["author"]["following"] is True
    assert set(as_reader["author"]) == PROFILE_KEYS

    anonymous = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert anonymous["favorited"] is False
    assert anonymous["favoritesCount"] == 1
    assert anonymous["author"]["following"] is False


async def test_get_unknown_article_is_404(client):
    response = await client.get("/api/articles/no-such-article")
    assert response.status_code == 404
    assert response.json() == {"errors": {"article": ["not found"]}}


async def test_create_article_without_a_token_is_401(client):
    response = await client.post("/api/articles", json={"article": DRAGON})
    assert response.status_code == 401
    assert response.json() == {"errors": {"token": ["is missing"]}}


async def test_create_article_with_a_bad_token_is_401(client):
    response = await client.post(
        "/api/articles", json={"article": DRAGON}, headers={"Authorization": "Token nonsense"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("field", ["title", "description", "body"])
@pytest.mark.parametrize("value", ["", "   ", None, "<missing>"])
async def test_create_article_rejects_a_blank_or_missing_field(app, client, field, value):
    author = await make_user(app)
    article: dict[str, object] = {"title": "t", "description": "d", "body": "b"}
    if value == "<missing>":
        del article[field]
    else:
        article[field] = value
    response = await client.post("/api/articles", json={"article": article}, headers=author.auth)
    assert response.status_code == 422
    assert response.json() == {"errors": {field: ["can't be blank"]}}


async def test_create_article_without_the_article_wrapper_is_422(app, client):
    author = await make_user(app)
    response = await client.post("/api/articles", json=DRAGON, headers=author.auth)
    assert response.status_code == 422
    assert response.json() == {"errors": {"article": ["can't be blank"]}}


@pytest.mark.parametrize(
    ("field", "limit"), [("title", 255), ("description", 1000), ("body", 100_000)]
)
async def test_create_article_enforces_maximum_lengths(app, client, field, limit):
    author = await make_user(app)
    article = {"title": "t", "description": "d", "body": "b", field: "x" * (limit + 1)}
    response = await client.post("/api/articles", json={"article": article}, headers=author.auth)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]

    article[field] = "x" * limit
    response = await client.post("/api/articles", json={"article": article}, headers=author.auth)
    assert response.status_code == 201


async def test_tag_list_is_trimmed_deduplicated_and_sorted(app, client):
    author = await make_user(app)
    article = await post_article(client, author, tagList=["  zebra", "apple", "zebra ", "Mango"])
    assert article["tagList"] == ["Mango", "apple", "zebra"]


async def test_tag_list_is_optional_and_null_means_none_on_create(app, client):
    author = await make_user(app)
    assert (await post_article(client, author))["tagList"] == []
    assert (await post_article(client, author, tagList=None))["tagList"] == []


@pytest.mark.parametrize("tags", [[""], ["ok", "   "], ["x" * 65], "not-a-list"])
async def test_tag_list_rejects_blank_long_or_malformed_names(app, client, tags):
    author = await make_user(app)
    article = {"title": "t", "description": "d", "body": "b", "tagList": tags}
    response = await client.post("/api/articles", json={"article": article}, headers=author.auth)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["tagList"]


async def test_unknown_and_server_owned_fields_are_ignored(app, client):
    author = await make_user(app)
    other = await make_user(app)
    article = await post_article(
        client,
        author,
        slug="chosen-slug",
        author={"username": other.username},
        favoritesCount=99,
        favorited=True,
        createdAt="2000-01-01T00:00:00.000Z",
        updatedAt="2000-01-01T00:00:00.000Z",
        color="blue",
    )
    assert article["slug"] != "chosen-slug"
    assert article["author"]["username"] == author.username
    assert article["favoritesCount"] == 0
    assert article["favorited"] is False
    assert not article["createdAt"].startswith("2000")
    assert "color" not in article


async def test_title_and_description_are_trimmed_and_the_body_kept_verbatim(app, client):
    author = await make_user(app)
    article = await post_article(
        client, author, title="  Spaced  ", description=" d ", body="  code:\n    x = 1\n"
    )
    assert article["title"] == "Spaced"
    assert article["description"] == "d"
    assert article["body"] == "  code:\n    x = 1\n"


async def test_duplicate_titles_get_distinct_slugs(app, client):
    author = await make_user(app)
    first = await post_article(client, author, title="Same title")
    second = await post_article(client, author, title="Same title")
    assert first["slug"] != second["slug"]
    for article in (first, second):
        assert article["slug"].startswith("same-title-")
        response = await client.get(f"/api/articles/{article['slug']}")
        assert response.json()["article"]["slug"] == article["slug"]


@pytest.mark.parametrize(
    ("title", "prefix"),
    [
        ("Café crème brûlée", "cafe-creme-brulee-"),
        ("Straße & Œuvre", "strasse-oeuvre-"),
        ("Привет, мир!", "privet-mir-"),
        ("日本語のタイトル", "article-"),
        ("🐉 🐉", "article-"),
        ("C++ & Rust: 2026?", "c-rust-2026-"),
    ],
)
async def test_non_ascii_titles_get_url_safe_slugs(app, client, title, prefix):
    author = await make_user(app)
    article = await post_article(client, author, title=title)
    assert article["title"] == title
    assert SLUG.match(article["slug"])
    assert article["slug"].startswith(prefix)
    response = await client.get(f"/api/articles/{article['slug']}")
    assert response.status_code == 200


async def test_very_long_titles_give_slugs_that_fit_the_column(app, client):
    author = await make_user(app)
    article = await post_article(client, author, title="word " * 51)
    assert len(article["slug"]) <= 255
    assert SLUG.match(article["slug"])
