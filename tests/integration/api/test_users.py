"""Registration and the current user (POST /users, GET /user)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conduit.db.session import Database
from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import User
from conduit.http.app import create_app
from tests.conftest import asgi_client, make_settings
from tests.factories import make_user
from tests.statements import assert_max_statements

BLANK = ["can't be blank"]
# 254 characters, the longest address there is: a 64-character local part, a 189-character domain.
LONGEST_EMAIL = "e" * 64 + "@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 57 + ".com"
TAKEN = ["has already been taken"]


def new_user(**fields: Any) -> dict[str, Any]:
    user: dict[str, Any] = {"username": "jake", "email": "jake@jake.jake", "password": "jakejake"}
    user.update(fields)
    return {"user": {key: value for key, value in user.items() if value is not ...}}


async def register(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    return await client.post("/api/users", json=new_user(**fields))


async def account(database: Database, username: str) -> tuple[User, Profile | None]:
    async with database.unit_of_work() as session:
        user = (await session.execute(select(User).where(User.username == username))).scalar_one()
        profile = await session.get(Profile, user.id)
    return user, profile


# Registration


async def test_register_answers_201_with_the_user_and_a_working_token(client):
    with assert_max_statements(2):
        response = await register(client)
    assert response.status_code == 201
    user = response.json()["user"]
    assert set(user) == {"email", "token", "username", "bio", "image"}
    assert user["username"] == "jake"
    assert user["email"] == "jake@jake.jake"
    assert user["bio"] is None
    assert user["image"] is None
    me = await client.get("/api/user", headers={"Authorization": f"Token {user['token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "jake"


async def test_register_stores_an_argon2id_hash_a_profile_and_the_initial_credits(
    migrated_url, database
):
    app = create_app(make_settings(migrated_url, initial_credits=7), database=database)
    async with asgi_client(app) as client:
        response = await register(client)
    assert response.status_code == 201
    user, profile = await account(database, "jake")
    assert user.credits == 7
    assert user.role == "user"
    assert user.is_active is True
    assert user.password_hash.startswith("$argon2id$")
    assert "jakejake" not in user.password_hash
    assert profile is not None
    assert (profile.bio, profile.image) == (None, None)


@pytest.mark.parametrize("field", ["username", "email", "password"])
@pytest.mark.parametrize("value", [..., "", None], ids=["missing", "empty", "null"])
async def test_register_without_a_required_field_is_422_cant_be_blank(client, field, value):
    response = await register(client, **{field: value})
    assert response.status_code == 422
    assert response.json() == {"errors": {field: BLANK}}


@pytest.mark.parametrize("field", ["username", "email"])
async def test_register_with_only_whitespace_is_blank(client, field):
    response = await register(client, **{field: "   "})
    assert response.status_code == 422
    assert response.json() == {"errors": {field: BLANK}}


async def test_register_without_the_user_wrapper_is_422(client):
    response = await client.post("/api/users", json={"username": "jake"})
    assert response.status_code == 422
    assert response.json() == {"errors": {"user": BLANK}}


@pytest.mark.parametrize("email", ["jake", "jake@", "@jake.jake", "jake@localhost", "a b@c.de"])
async def test_register_with_a_malformed_email_is_422(client, email):
    response = await register(client, email=email)
    assert response.status_code == 422
    assert response.json() == {"errors": {"email": ["is invalid"]}}


@pytest.mark.parametrize("username", ["jake/admin", "jake smith", "jake?x=1", "jake#1", ".", ".."])
async def test_register_with_a_username_unusable_in_a_url_is_422(client, username):
    response = await register(client, username=username)
    assert response.status_code == 422
    assert response.json() == {"errors": {"username": ["is invalid"]}}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "u" * 65),
        ("email", "x" + LONGEST_EMAIL),
        ("password", "p" * 257),
    ],
)
async def test_register_with_an_overlong_field_is_422_naming_it(client, field, value):
    response = await register(client, **{field: value})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


async def test_register_accepts_fields_at_their_maximum_length(client):
    response = await register(client, username="u" * 64, email=LONGEST_EMAIL, password="p" * 256)
    assert response.status_code == 201


async def test_register_accepts_a_one_character_password(client):
    response = await register(client, password="x")
    assert response.status_code == 201


async def test_register_lowercases_the_email_domain_and_trims_blanks(client):
    response = await register(client, username=" jake ", email=" Jake@JAKE.Jake ")
    assert response.status_code == 201
    assert response.json()["user"]["email"] == "Jake@jake.jake"
    assert response.json()["user"]["username"] == "jake"


async def test_register_with_a_taken_username_is_409(client):
    await register(client)
    response = await register(client, email="other@jake.jake")
    assert response.status_code == 409
    assert response.json() == {"errors": {"username": TAKEN}}


async def test_register_with_a_taken_email_is_409(client):
    await register(client)
    response = await register(client, username="other")
    assert response.status_code == 409
    assert response.json() == {"errors": {"email": TAKEN}}


async def test_register_with_a_taken_username_and_email_names_both_in_one_more_statement(
    client,
):
    await register(client)
    with assert_max_statements(2):  # the refused INSERT and the SELECT that names the fields
        response = await register(client)
    assert response.status_code == 409
    assert response.json() == {"errors": {"email": TAKEN, "username": TAKEN}}


async def test_register_names_only_the_fields_taken_even_by_two_other_accounts(client):
    await register(client, username="jake", email="jake@jake.jake")
    await register(client, username="other", email="other@jake.jake")
    response = await register(client, username="jake", email="fresh@jake.jake")
    assert response.json() == {"errors": {"username": TAKEN}}
    response = await register(client, username="other", email="jake@jake.jake")
    assert response.json() == {"errors": {"email": TAKEN, "username": TAKEN}}


async def test_a_failed_registration_leaves_no_row_behind(client, database):
    await register(client)
    await register(client, email="other@jake.jake")
    async with database.unit_of_work() as session:
        emails = (await session.execute(select(User.email))).scalars().all()
    assert emails == ["jake@jake.jake"]


# The current user


async def test_current_user_answers_from_the_authentication_statement_alone(client, app):
    jake = await make_user(
        app, username="jake", bio="I work at statefarm", image="https://i.example/j.png"
    )
    with assert_max_statements(1):
        response = await client.get("/api/user", headers=jake.auth)
    assert response.status_code == 200
    assert response.json() == {
        "user": {
            "email": "jake@example.com",
            "token": jake.token,
            "username": "jake",
            "bio": "I work at statefarm",
            "image": "https://i.example/j.png",
        }
    }


async def test_current_user_echoes_a_bearer_token_too(client, app):
    jake = await make_user(app)
    response = await client.get("/api/user", headers={"Authorization": f"Bearer {jake.token}"})
    assert response.status_code == 200
    assert response.json()["user"]["token"] == jake.token
