"""Updating oneself (PUT /user): partial updates, clearing, limits, conflicts, passwords."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conduit.db.session import Database
from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import User
from tests.factories import make_user
from tests.statements import assert_max_statements

BLANK = ["can't be blank"]
TAKEN = ["has already been taken"]


async def account(database: Database, username: str) -> tuple[User, Profile | None]:
    async with database.unit_of_work() as session:
        user = (await session.execute(select(User).where(User.username == username))).scalar_one()
        profile = await session.get(Profile, user.id)
    return user, profile


async def update(client: httpx.AsyncClient, auth: dict[str, str], **fields: Any) -> httpx.Response:
    return await client.put("/api/user", json={"user": fields}, headers=auth)


async def test_update_changes_every_field_and_echoes_the_token(client, app, database):
    jake = await make_user(app, username="jake")
    with assert_max_statements(3):
        response = await update(
            client,
            jake.auth,
            email="new@jake.jake",
            username="jacob",
            bio="I like to skateboard",
            image="https://i.stack.imgur.com/xHWG8.jpg",
        )
    assert response.status_code == 200
    assert response.json() == {
        "user": {
            "email": "new@jake.jake",
            "token": jake.token,
            "username": "jacob",
            "bio": "I like to skateboard",
            "image": "https://i.stack.imgur.com/xHWG8.jpg",
        }
    }
    user, profile = await account(database, "jacob")
    assert user.email == "new@jake.jake"
    assert profile is not None
    assert profile.bio == "I like to skateboard"
    # The token names the account, not its username: it keeps working.
    me = await client.get("/api/user", headers=jake.auth)
    assert me.json()["user"]["username"] == "jacob"


async def test_update_of_the_profile_alone_is_two_statements(client, app):
    jake = await make_user(app)
    with assert_max_statements(2):
        response = await update(client, jake.auth, bio="hi")
    assert response.status_code == 200


async def test_update_with_nothing_new_sends_only_the_authentication_statement(client, app):
    jake = await make_user(app, username="jake", email="jake@jake.jake")
    with assert_max_statements(1):
        response = await update(client, jake.auth, email="jake@jake.jake", username="jake")
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "jake@jake.jake"


async def test_update_with_an_empty_user_changes_nothing(client, app):
    jake = await make_user(app, bio="kept")
    response = await update(client, jake.auth)
    assert response.status_code == 200
    assert response.json()["user"]["bio"] == "kept"


async def test_update_leaves_omitted_fields_alone(client, app):
    jake = await make_user(app, bio="kept", image="https://i.example/kept.png")
    response = await update(client, jake.auth, email="new@jake.jake")
    assert response.status_code == 200
    assert response.json()["user"]["bio"] == "kept"
    assert response.json()["user"]["image"] == "https://i.example/kept.png"


@pytest.mark.parametrize("value", ["", None], ids=["empty", "null"])
@pytest.mark.parametrize("field", ["bio", "image"])
async def test_update_with_an_empty_or_null_bio_or_image_stores_null(
    client, app, database, field, value
):
    jake = await make_user(app, bio="old", image="https://i.example/old.png")
    response = await update(client, jake.auth, **{field: value})
    assert response.status_code == 200
    assert response.json()["user"][field] is None
    _, profile = await account(database, jake.username)
    assert getattr(profile, field) is None


@pytest.mark.parametrize("value", ["", None], ids=["empty", "null"])
@pytest.mark.parametrize("field", ["email", "username", "password"])
async def test_update_cannot_blank_email_username_or_password(client, app, field, value):
    jake = await make_user(app)
    response = await update(client, jake.auth, **{field: value})
    assert response.status_code == 422
    assert response.json() == {"errors": {field: BLANK}}


@pytest.mark.parametrize("field", ["email", "username"])
async def test_update_to_only_whitespace_is_blank(client, app, field):
    jake = await make_user(app)
    response = await update(client, jake.auth, **{field: "   "})
    assert response.status_code == 422
    assert response.json() == {"errors": {field: BLANK}}


async def test_update_with_a_malformed_email_is_422(client, app):
    jake = await make_user(app)
    response = await update(client, jake.auth, email="not-an-email")
    assert response.status_code == 422
    assert response.json() == {"errors": {"email": ["is invalid"]}}


@pytest.mark.parametrize("image", ["not a url", "ftp://files.example/a.png", "javascript:alert(1)"])
async def test_update_with_an_image_that_is_not_an_http_url_is_422(client, app, image):
    jake = await make_user(app)
    response = await update(client, jake.auth, image=image)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["image"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bio", "b" * 10_001),
        ("image", "https://i.example/" + "i" * 2048),
        ("username", "u" * 65),
        ("password", "p" * 257),
    ],
)
async def test_update_with_an_overlong_field_is_422_naming_it(client, app, field, value):
    jake = await make_user(app)
    response = await update(client, jake.auth, **{field: value})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


async def test_update_to_a_taken_email_is_409(client, app):
    await make_user(app, email="taken@jake.jake")
    jake = await make_user(app)
    response = await update(client, jake.auth, email="taken@jake.jake")
    assert response.status_code == 409
    assert response.json() == {"errors": {"email": TAKEN}}


async def test_update_to_a_taken_username_is_409(client, app):
    await make_user(app, username="taken")
    jake = await make_user(app)
    response = await update(client, jake.auth, username="taken")
    assert response.status_code == 409
    assert response.json() == {"errors": {"username": TAKEN}}


async def test_update_to_a_taken_email_and_username_names_both(client, app):
    await make_user(app, username="taken", email="taken@jake.jake")
    jake = await make_user(app)
    with assert_max_statements(3):  # authentication, the guarded UPDATE, the naming SELECT
        response = await update(client, jake.auth, email="taken@jake.jake", username="taken")
    assert response.status_code == 409
    assert response.json() == {"errors": {"email": TAKEN, "username": TAKEN}}


async def test_update_names_fields_taken_by_two_different_accounts(client, app):
    await make_user(app, username="taken")
    await make_user(app, email="taken@jake.jake")
    jake = await make_user(app)
    response = await update(client, jake.auth, email="taken@jake.jake", username="taken", bio="b")
    assert response.status_code == 409
    assert response.json() == {"errors": {"email": TAKEN, "username": TAKEN}}


async def test_a_refused_update_changes_nothing(client, app, database):
    await make_user(app, username="taken")
    jake = await make_user(app, username="jake", bio="old")
    response = await update(client, jake.auth, username="taken", bio="new")
    assert response.status_code == 409
    _, profile = await account(database, "jake")
    assert profile is not None
    assert profile.bio == "old"


async def test_update_of_the_password_rehashes_it(client, app, database):
    jake = await make_user(app, username="jake")
    before, _ = await account(database, "jake")
    response = await update(client, jake.auth, password="a new secret")
    assert response.status_code == 200
    after, _ = await account(database, "jake")
    assert after.password_hash != before.password_hash
    assert after.password_hash.startswith("$argon2id$")
    login = {"user": {"email": "jake@example.com", "password": "a new secret"}}
    assert (await client.post("/api/users/login", json=login)).status_code == 200
    login["user"]["password"] = "password"
    assert (await client.post("/api/users/login", json=login)).status_code == 401


async def test_update_saves_the_profile_of_an_account_without_a_profile_row(client, app, database):
    jake = await make_user(app, username="jake")
    async with database.unit_of_work() as session:
        profile = await session.get(Profile, jake.user.id)
        await session.delete(profile)
    response = await update(client, jake.auth, bio="recreated")
    assert response.status_code == 200
    _, profile = await account(database, "jake")
    assert profile is not None
    assert profile.bio == "recreated"


async def test_update_requires_a_token(client):
    response = await client.put("/api/user", json={"user": {"bio": "x"}})
    assert response.status_code == 401
    assert response.json() == {"errors": {"token": ["is missing"]}}
