"""Comments: add, list, soft-delete; permissions, validation and statement counts."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.integration.api.articles_support import PROFILE_KEYS, TIMESTAMP, follow, post_article
from tests.statements import assert_max_statements


async def add_comment(client, user, slug, body="Thank you so much!"):
    return await client.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": body}}, headers=user.auth
    )


async def test_add_comment_answers_201_in_two_statements(app, client):
    author = await make_user(app)
    commenter = await make_user(app, bio="chatty")
    slug = (await post_article(client, author))["slug"]
    # authentication, then one INSERT ... SELECT that also finds the article
    with assert_max_statements(2) as stats:
        response = await add_comment(client, commenter, slug)
    assert stats.count == 2
    assert response.status_code == 201
    comment = response.json()["comment"]
    assert set(comment) == {"id", "createdAt", "updatedAt", "body", "author"}
    assert isinstance(comment["id"], int)
    assert comment["body"] == "Thank you so much!"
    assert TIMESTAMP.match(comment["createdAt"])
    assert comment["updatedAt"] == comment["createdAt"]
    assert comment["author"] == {
        "username": commenter.username,
        "bio": "chatty",
        "image": None,
        "following": False,
    }


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "  \n"}, {"body": None}])
async def test_a_blank_or_missing_comment_body_is_422(app, client, body):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    response = await client.post(
        f"/api/articles/{slug}/comments", json={"comment": body}, headers=author.auth
    )
    assert response.status_code == 422
    assert response.json() == {"errors": {"body": ["can't be blank"]}}


async def test_a_comment_body_over_ten_thousand_characters_is_422(app, client):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    assert (await add_comment(client, author, slug, "x" * 10_001)).status_code == 422
    assert (await add_comment(client, author, slug, "x" * 10_000)).status_code == 201


async def test_commenting_needs_a_token_and_a_live_article(app, client):
    user = await make_user(app)
    response = await client.post(
        "/api/articles/whatever/comments", json={"comment": {"body": "hi"}}
    )
    assert response.status_code == 401
    response = await add_comment(client, user, "no-such-article")
    assert response.status_code == 404
    assert response.json() == {"errors": {"article": ["not found"]}}


async def test_comments_are_listed_newest_first_in_one_statement(app, client):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    ids = [
        (await add_comment(client, author, slug, f"c{i}")).json()["comment"]["id"] for i in range(3)
    ]
    with assert_max_statements(1):
        response = await client.get(f"/api/articles/{slug}/comments")
    assert response.status_code == 200
    comments = response.json()["comments"]
    assert [c["id"] for c in comments] == ids[::-1]
    assert [c["body"] for c in comments] == ["c2", "c1", "c0"]
    assert all(set(c["author"]) == PROFILE_KEYS for c in comments)


async def test_listing_with_a_token_shows_following_in_two_statements(app, client):
    author = await make_user(app)
    friend = await make_user(app)
    reader = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    await add_comment(client, friend, slug, "from a friend")
    await add_comment(client, author, slug, "from the author")
    await follow(app, reader, friend)
    with assert_max_statements(2):
        response = await client.get(f"/api/articles/{slug}/comments", headers=reader.auth)
    following = {
        c["author"]["username"]: c["author"]["following"] for c in response.json()["comments"]
    }
    assert following == {friend.username: True, author.username: False}


async def test_an_article_without_comments_lists_none(app, client):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    assert (await client.get(f"/api/articles/{slug}/comments")).json() == {"comments": []}


async def test_comments_of_an_unknown_article_are_404(client):
    response = await client.get("/api/articles/missing/comments")
    assert response.status_code == 404
    assert response.json() == {"errors": {"article": ["not found"]}}


async def test_deleting_ones_own_comment_answers_204_in_two_statements(app, client):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    kept = (await add_comment(client, author, slug, "kept")).json()["comment"]["id"]
    gone = (await add_comment(client, author, slug, "gone")).json()["comment"]["id"]
    # authentication, mark it deleted (guarded: live, on the live article, the caller's)
    with assert_max_statements(2) as stats:
        response = await client.delete(f"/api/articles/{slug}/comments/{gone}", headers=author.auth)
    assert stats.count == 2
    assert response.status_code == 204
    assert response.content == b""
    listed = (await client.get(f"/api/articles/{slug}/comments")).json()["comments"]
    assert [c["id"] for c in listed] == [kept]
    again = await client.delete(f"/api/articles/{slug}/comments/{gone}", headers=author.auth)
    assert again.status_code == 404
    assert again.json() == {"errors": {"comment": ["not found"]}}


async def test_deleting_someone_elses_comment_is_403(app, client):
    author = await make_user(app)
    other = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    comment_id = (await add_comment(client, other, slug)).json()["comment"]["id"]
    # Owning the article does not make its comments one's own.
    response = await client.delete(
        f"/api/articles/{slug}/comments/{comment_id}", headers=author.auth
    )
    assert response.status_code == 403
    assert response.json() == {"errors": {"comment": ["forbidden"]}}


@pytest.mark.parametrize("role", ["moderator", "admin"])
async def test_moderators_and_admins_may_delete_any_comment(app, client, role):
    author = await make_user(app)
    moderator = await make_user(app, role=role)
    slug = (await post_article(client, author))["slug"]
    comment_id = (await add_comment(client, author, slug)).json()["comment"]["id"]
    path = f"/api/articles/{slug}/comments/{comment_id}"
    assert (await client.delete(path, headers=moderator.auth)).status_code == 204
    assert (await client.get(f"/api/articles/{slug}/comments")).json() == {"comments": []}


async def test_deleting_a_comment_through_the_wrong_article_or_id_is_404(app, client):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    other_slug = (await post_article(client, author))["slug"]
    comment_id = (await add_comment(client, author, slug)).json()["comment"]["id"]
    cases = [
        (f"/api/articles/{other_slug}/comments/{comment_id}", "comment"),
        (f"/api/articles/{slug}/comments/{comment_id + 1000}", "comment"),
        (f"/api/articles/missing/comments/{comment_id}", "article"),
    ]
    for path, subject in cases:
        response = await client.delete(path, headers=author.auth)
        assert response.status_code == 404
        assert response.json() == {"errors": {subject: ["not found"]}}


@pytest.mark.parametrize("comment_id", ["abc", "0", str(2**63)])
async def test_a_malformed_comment_id_is_422(app, client, comment_id):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    response = await client.delete(
        f"/api/articles/{slug}/comments/{comment_id}", headers=author.auth
    )
    assert response.status_code == 422


async def test_deleting_a_comment_needs_a_token(app, client):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    comment_id = (await add_comment(client, author, slug)).json()["comment"]["id"]
    response = await client.delete(f"/api/articles/{slug}/comments/{comment_id}")
    assert response.status_code == 401


async def test_comments_of_a_deleted_article_are_gone(app, client):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    comment_id = (await add_comment(client, author, slug)).json()["comment"]["id"]
    await client.delete(f"/api/articles/{slug}", headers=author.auth)
    assert (await client.get(f"/api/articles/{slug}/comments")).status_code == 404
    assert (await add_comment(client, author, slug)).status_code == 404
    response = await client.delete(
        f"/api/articles/{slug}/comments/{comment_id}", headers=author.auth
    )
    assert response.status_code == 404
