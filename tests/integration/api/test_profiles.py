"""Profiles and the follow graph (GET /profiles/{username}, POST|DELETE .../follow)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from conduit.db.errors import CheckViolation
from conduit.db.session import Database
from conduit.domain.profiles.models import Follow
from tests.factories import make_user
from tests.statements import assert_max_statements

NOT_FOUND = {"errors": {"profile": ["not found"]}}


async def follows_count(database: Database, follower_id, followee_id) -> int:
    async with database.unit_of_work() as session:
        return (
            await session.execute(
                select(func.count()).where(
                    Follow.follower_id == follower_id, Follow.followee_id == followee_id
                )
            )
        ).scalar_one()


async def test_anonymous_profile_read_is_one_statement_and_not_following(client, app):
    await make_user(app, username="celeb", bio="famous", image="https://i.example/c.png")
    with assert_max_statements(1):
        response = await client.get("/api/profiles/celeb")
    assert response.status_code == 200
    assert response.json() == {
        "profile": {
            "username": "celeb",
            "bio": "famous",
            "image": "https://i.example/c.png",
            "following": False,
        }
    }


async def test_signed_in_profile_read_is_one_statement_on_postgres_with_following(
    client, app, dialect
):
    fan = await make_user(app)
    celeb = await make_user(app, username="celeb")
    await client.post("/api/profiles/celeb/follow", headers=fan.auth)
    # PostgreSQL checks the reader's account in the profile's statement; elsewhere it is its own.
    with assert_max_statements(1 if dialect == "postgresql" else 2):
        response = await client.get("/api/profiles/celeb", headers=fan.auth)
    assert response.status_code == 200
    assert response.json()["profile"]["following"] is True
    other = await client.get("/api/profiles/celeb", headers=celeb.auth)
    assert other.json()["profile"]["following"] is False


@pytest.mark.parametrize("username", ["celeb", "nobody"])
async def test_a_profile_read_refuses_a_token_of_a_deactivated_or_changed_account(
    client, app, username
):
    await make_user(app, username="celeb")
    fan = await make_user(app)
    gone = await make_user(app, is_active=False)
    # Issued before a password change: the account's tokens are at a later version now.
    stale = {"Authorization": f"Token {app.state.tokens.issue(fan.user.id, version=1)}"}
    for headers in (gone.auth, stale):
        response = await client.get(f"/api/profiles/{username}", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"errors": {"token": ["is invalid"]}}


async def test_a_new_users_profile_has_null_bio_and_image(client):
    user = {"username": "fresh", "email": "fresh@mail.com", "password": "password"}
    await client.post("/api/users", json={"user": user})
    response = await client.get("/api/profiles/fresh")
    assert response.json()["profile"] == {
        "username": "fresh",
        "bio": None,
        "image": None,
        "following": False,
    }


async def test_profile_lookup_is_by_exact_username(client, app):
    await make_user(app, username="Celeb")
    assert (await client.get("/api/profiles/Celeb")).status_code == 200
    assert (await client.get("/api/profiles/celeb")).status_code == 404


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
async def test_an_unknown_profile_is_404(client, app, signed_in):
    headers = (await make_user(app)).auth if signed_in else {}
    response = await client.get("/api/profiles/nobody", headers=headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_follow_answers_the_profile_following_in_three_statements(client, app, database):
    fan = await make_user(app)
    celeb = await make_user(app, username="celeb", bio="famous")
    # Some clients send a body with follow requests; it is ignored.
    with assert_max_statements(3):
        response = await client.post(
            "/api/profiles/celeb/follow", headers=fan.auth, json={"user": {"email": "x@y.z"}}
        )
    assert response.status_code == 200
    assert response.json() == {
        "profile": {"username": "celeb", "bio": "famous", "image": None, "following": True}
    }
    assert await follows_count(database, fan.user.id, celeb.user.id) == 1


async def test_follow_is_idempotent_and_a_repeat_costs_the_same(client, app, database):
    fan = await make_user(app)
    celeb = await make_user(app, username="celeb")
    await client.post("/api/profiles/celeb/follow", headers=fan.auth)
    with assert_max_statements(3):
        response = await client.post("/api/profiles/celeb/follow", headers=fan.auth)
    assert response.status_code == 200
    assert response.json()["profile"]["following"] is True
    assert await follows_count(database, fan.user.id, celeb.user.id) == 1


async def test_unfollow_answers_the_profile_not_following_in_three_statements(
    client, app, database
):
    fan = await make_user(app)
    celeb = await make_user(app, username="celeb")
    await client.post("/api/profiles/celeb/follow", headers=fan.auth)
    with assert_max_statements(3):
        response = await client.delete("/api/profiles/celeb/follow", headers=fan.auth)
    assert response.status_code == 200
    assert response.json()["profile"] == {
        "username": "celeb",
        "bio": None,
        "image": None,
        "following": False,
    }
    assert await follows_count(database, fan.user.id, celeb.user.id) == 0
    after = await client.get("/api/profiles/celeb", headers=fan.auth)
    assert after.json()["profile"]["following"] is False


async def test_unfollow_of_someone_not_followed_is_a_harmless_200(client, app):
    fan = await make_user(app)
    await make_user(app, username="celeb")
    for _ in range(2):
        response = await client.delete("/api/profiles/celeb/follow", headers=fan.auth)
        assert response.status_code == 200
        assert response.json()["profile"]["following"] is False


async def test_following_is_one_way(client, app):
    fan = await make_user(app, username="fan")
    celeb = await make_user(app, username="celeb")
    await client.post("/api/profiles/celeb/follow", headers=fan.auth)
    response = await client.get("/api/profiles/fan", headers=celeb.auth)
    assert response.json()["profile"]["following"] is False


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_follow_or_unfollow_of_an_unknown_user_is_404(client, app, method):
    fan = await make_user(app)
    response = await client.request(method, "/api/profiles/nobody/follow", headers=fan.auth)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_following_yourself_is_422(client, app, database):
    jake = await make_user(app, username="jake")
    response = await client.post("/api/profiles/jake/follow", headers=jake.auth)
    assert response.status_code == 422
    assert response.json() == {"errors": {"profile": ["cannot follow yourself"]}}
    assert await follows_count(database, jake.user.id, jake.user.id) == 0


async def test_the_database_refuses_a_self_follow_too(app, database):
    jake = await make_user(app)
    with pytest.raises(CheckViolation) as refused:
        async with database.unit_of_work() as session:
            await session.execute(
                insert(Follow).values(follower_id=jake.user.id, followee_id=jake.user.id)
            )
    assert refused.value.constraint in ("ck_follows_no_self_follow", "no_self_follow")


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_follow_and_unfollow_require_a_token(client, app, method):
    await make_user(app, username="celeb")
    response = await client.request(method, "/api/profiles/celeb/follow")
    assert response.status_code == 401
    assert response.json() == {"errors": {"token": ["is missing"]}}


async def test_a_deactivated_users_profile_stays_readable(client, app):
    # Deactivation stops the account signing in; what it published, and who it is, stay visible.
    await make_user(app, username="gone", is_active=False)
    response = await client.get("/api/profiles/gone")
    assert response.status_code == 200
