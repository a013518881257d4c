"""Favorites: idempotent, per viewer, counted, and gone with their article."""

from __future__ import annotations

from tests.factories import make_user
from tests.integration.api.articles_support import ARTICLE_KEYS, post_article
from tests.statements import assert_max_statements, mysql_extra


async def test_favorite_answers_the_article_favorited_in_five_statements(app, client, dialect):
    author = await make_user(app)
    fan = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    # authentication, the idempotent insert, the fan's kept count of favorites (the favorited
    # filter's total), the article's (its favoritesCount), the read of the article; on MySQL
    # the article's and the fan's rows held first, in that order
    with assert_max_statements(5 + mysql_extra(dialect, 2)) as stats:
        response = await client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
    assert stats.count == 5 + mysql_extra(dialect, 2)
    assert response.status_code == 200
    article = response.json()["article"]
    assert set(article) == ARTICLE_KEYS
    assert article["favorited"] is True
    assert article["favoritesCount"] == 1


async def test_favoriting_twice_counts_once(app, client, dialect):
    author = await make_user(app)
    fan = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    response = await client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
    assert response.json()["article"]["favoritesCount"] == 1
    # The insert changes nothing the second time, so no count moves: authentication, the
    # insert, the read.
    with assert_max_statements(3 + mysql_extra(dialect, 2)) as stats:
        response = await client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
    assert stats.count == 3 + mysql_extra(dialect, 2)
    assert response.status_code == 200
    assert response.json()["article"]["favoritesCount"] == 1


async def test_favorites_are_counted_across_users_and_flagged_per_viewer(app, client):
    author = await make_user(app)
    fans = [await make_user(app) for _ in range(3)]
    slug = (await post_article(client, author))["slug"]
    for fan in fans:
        await client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
    as_fan = (await client.get(f"/api/articles/{slug}", headers=fans[0].auth)).json()["article"]
    as_author = (await client.get(f"/api/articles/{slug}", headers=author.auth)).json()["article"]
    assert (as_fan["favorited"], as_fan["favoritesCount"]) == (True, 3)
    assert (as_author["favorited"], as_author["favoritesCount"]) == (False, 3)


async def test_unfavorite_takes_it_back_in_five_statements(app, client):
    author = await make_user(app)
    fan = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    await client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
    # authentication, the delete, the fan's kept count, the article's, the read of the article
    with assert_max_statements(5) as stats:
        response = await client.delete(f"/api/articles/{slug}/favorite", headers=fan.auth)
    assert stats.count == 5
    assert response.status_code == 200
    article = response.json()["article"]
    assert article["favorited"] is False
    assert article["favoritesCount"] == 0
    listed = (await client.get(f"/api/articles?favorited={fan.username}")).json()
    assert listed == {"articles": [], "articlesCount": 0, "nextCursor": None}


async def test_unfavoriting_what_was_never_favorited_changes_nothing(app, client):
    author = await make_user(app)
    fan = await make_user(app)
    other = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    await client.post(f"/api/articles/{slug}/favorite", headers=other.auth)
    # authentication, the delete that deletes nothing, the read: no count moves
    with assert_max_statements(3) as stats:
        response = await client.delete(f"/api/articles/{slug}/favorite", headers=fan.auth)
    assert stats.count == 3
    assert response.status_code == 200
    assert response.json()["article"]["favoritesCount"] == 1


async def test_favorite_needs_a_token_and_an_existing_article(app, client):
    fan = await make_user(app)
    for method in ("POST", "DELETE"):
        response = await client.request(method, "/api/articles/missing/favorite")
        assert response.status_code == 401
        response = await client.request(method, "/api/articles/missing/favorite", headers=fan.auth)
        assert response.status_code == 404
        assert response.json() == {"errors": {"article": ["not found"]}}


async def test_favorites_of_a_deleted_article_are_gone_everywhere(app, client):
    author = await make_user(app)
    fan = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    await client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
    await client.delete(f"/api/articles/{slug}", headers=author.auth)
    listed = (await client.get(f"/api/articles?favorited={fan.username}")).json()
    assert listed == {"articles": [], "articlesCount": 0, "nextCursor": None}
    for method in ("POST", "DELETE"):
        response = await client.request(method, f"/api/articles/{slug}/favorite", headers=fan.auth)
        assert response.status_code == 404


async def test_a_restored_article_shows_the_favorites_it_had(app, client):
    admin = await make_user(app, role="admin")
    author = await make_user(app)
    fans = [await make_user(app) for _ in range(2)]
    slug = (await post_article(client, author))["slug"]
    for fan in fans:
        await client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
    await client.delete(f"/api/articles/{slug}", headers=author.auth)
    # The favorites stay rows while the article is deleted, and count again once it is back.
    restored = await client.post(f"/api/admin/articles/{slug}/restore", headers=admin.auth)
    assert restored.json()["article"]["favoritesCount"] == 2
    read = (await client.get(f"/api/articles/{slug}", headers=fans[0].auth)).json()["article"]
    assert (read["favorited"], read["favoritesCount"]) == (True, 2)
    listed = (await client.get(f"/api/articles?author={author.username}")).json()
    assert [a["favoritesCount"] for a in listed["articles"]] == [2]


async def test_favoriting_leaves_the_articles_updated_at_alone(app, client):
    author = await make_user(app)
    fan = await make_user(app)
    created = await post_article(client, author)
    slug = created["slug"]
    for method in ("POST", "DELETE"):
        response = await client.request(method, f"/api/articles/{slug}/favorite", headers=fan.auth)
        assert response.json()["article"]["updatedAt"] == created["updatedAt"], method
    read = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert read["updatedAt"] == created["updatedAt"]
