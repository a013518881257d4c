"""Logging in (POST /users/login) and how every protected route treats its token."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
import pytest
from sqlalchemy import update

from conduit.domain.users.models import User
from conduit.http.security import TokenCodec
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, make_user
from tests.statements import assert_max_statements

INVALID_CREDENTIALS = {"errors": {"credentials": ["invalid"]}}
TOKEN_MISSING = {"errors": {"token": ["is missing"]}}


def credentials(email: str, password: str = PASSWORD) -> dict[str, dict[str, str]]:
    return {"user": {"email": email, "password": password}}


# Logging in


async def test_login_answers_the_user_with_a_fresh_token_in_one_statement(client, app):
    await make_user(app, username="jake", bio="bio", image="https://i.example/j.png")
    with assert_max_statements(1):
        response = await client.post("/api/users/login", json=credentials("jake@example.com"))
    assert response.status_code == 200
    user = response.json()["user"]
    assert {key: user[key] for key in ("email", "username", "bio", "image")} == {
        "email": "jake@example.com",
        "username": "jake",
        "bio": "bio",
        "image": "https://i.example/j.png",
    }
    me = await client.get("/api/user", headers={"Authorization": f"Token {user['token']}"})
    assert me.status_code == 200


async def test_login_token_carries_sub_iat_and_exp(client, app, settings):
    jake = await make_user(app)
    response = await client.post("/api/users/login", json=credentials(jake.user.email))
    claims = jwt.decode(response.json()["user"]["token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(jake.user.id)
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_minutes * 60


async def test_login_with_a_wrong_password_is_401_invalid_credentials(client, app):
    jake = await make_user(app)
    response = await client.post(
        "/api/users/login", json=credentials(jake.user.email, "not the password")
    )
    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


async def test_login_with_an_unknown_email_is_401_invalid_credentials(client):
    response = await client.post("/api/users/login", json=credentials("nobody@example.com"))
    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


async def test_login_with_a_malformed_email_is_401_invalid_credentials(client):
    response = await client.post("/api/users/login", json=credentials("not-an-email"))
    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


async def test_a_deactivated_user_cannot_log_in(client, app):
    jake = await make_user(app, is_active=False)
    response = await client.post("/api/users/login", json=credentials(jake.user.email))
    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


async def test_login_works_with_the_password_chosen_at_registration(client):
    user = {"username": "jake", "email": "jake@jake.jake", "password": "jakejake"}
    assert (await client.post("/api/users", json={"user": user})).status_code == 201
    response = await client.post("/api/users/login", json=credentials("jake@jake.jake", "jakejake"))
    assert response.status_code == 200
    assert response.json()["user"]["username"] == "jake"


async def test_login_matches_the_email_as_registration_normalised_it(client):
    user = {"username": "jake", "email": "Jake@JAKE.example", "password": "jakejake"}
    assert (await client.post("/api/users", json={"user": user})).status_code == 201
    for typed in ("Jake@JAKE.example", "Jake@jake.example", " Jake@Jake.Example "):
        response = await client.post("/api/users/login", json=credentials(typed, "jakejake"))
        assert response.status_code == 200, typed


async def test_login_password_is_case_and_blank_sensitive(client, app):
    jake = await make_user(app)
    for wrong in (PASSWORD.upper(), f" {PASSWORD}", f"{PASSWORD} "):
        response = await client.post("/api/users/login", json=credentials(jake.user.email, wrong))
        assert response.status_code == 401, wrong


@pytest.mark.parametrize("field", ["email", "password"])
@pytest.mark.parametrize("value", [..., "", None], ids=["missing", "empty", "null"])
async def test_login_without_email_or_password_is_422_cant_be_blank(client, field, value):
    body = credentials("jake@example.com")
    if value is ...:
        del body["user"][field]
    else:
        body["user"][field] = value
    response = await client.post("/api/users/login", json=body)
    assert response.status_code == 422
    assert response.json() == {"errors": {field: ["can't be blank"]}}


# Tokens on protected routes


async def test_token_and_bearer_schemes_both_authenticate(client, app):
    jake = await make_user(app)
    for scheme in ("Token", "Bearer", "token", "bearer"):
        response = await client.get(
            "/api/user", headers={"Authorization": f"{scheme} {jake.token}"}
        )
        assert response.status_code == 200, scheme


async def test_a_protected_route_without_a_token_is_401_token_is_missing(client):
    response = await client.get("/api/user")
    assert response.status_code == 401
    assert response.json() == TOKEN_MISSING
    assert response.headers["www-authenticate"] == "Token"


@pytest.mark.parametrize(
    "header", ["Basic amFrZTpqYWtl", "Token", "Token ", "Bearer", "jwt-without-a-scheme"]
)
async def test_a_malformed_authorization_header_is_401(client, header):
    response = await client.get("/api/user", headers={"Authorization": header})
    assert response.status_code == 401
    assert list(response.json()["errors"]) == ["token"]


async def test_a_tampered_token_is_401(client, app):
    jake = await make_user(app)
    header, payload, signature = jake.token.split(".")
    forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    for token in (
        f"{header}.{payload}.{forged_signature}",
        f"{header}.{payload[:-2]}.{signature}",
        "not.a.jwt",
    ):
        response = await client.get("/api/user", headers={"Authorization": f"Token {token}"})
        assert response.status_code == 401, token
        assert response.json() == {"errors": {"token": ["is invalid"]}}


async def test_an_expired_token_is_401(client, app):
    jake = await make_user(app)
    codec = TokenCodec(secret=TEST_SECRET, ttl=dt.timedelta(minutes=5))
    token = codec.issue(jake.user.id, now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))
    response = await client.get("/api/user", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 401


async def test_a_token_signed_with_another_key_is_401(client, app):
    jake = await make_user(app)
    codec = TokenCodec(secret="another-secret-key-of-enough-length-1234", ttl=dt.timedelta(hours=1))
    token = codec.issue(jake.user.id)
    response = await client.get("/api/user", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 401


async def test_an_unsigned_token_is_401(client, app):
    jake = await make_user(app)
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": str(jake.user.id), "iat": now, "exp": now + dt.timedelta(hours=1)}
    token = jwt.encode(claims, key=None, algorithm="none")
    response = await client.get("/api/user", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("missing", ["sub", "iat", "exp"])
async def test_a_token_without_a_required_claim_is_401(client, app, missing):
    jake = await make_user(app)
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": str(jake.user.id), "iat": now, "exp": now + dt.timedelta(hours=1)}
    del claims[missing]
    token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    response = await client.get("/api/user", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 401


async def test_a_token_for_an_unknown_user_is_401(client, app):
    token = app.state.tokens.issue(uuid.uuid4())
    response = await client.get("/api/user", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 401


async def test_a_deactivated_users_token_stops_working(client, app, database):
    jake = await make_user(app)
    assert (await client.get("/api/user", headers=jake.auth)).status_code == 200
    async with database.unit_of_work() as session:
        await session.execute(update(User).where(User.id == jake.user.id).values(is_active=False))
    response = await client.get("/api/user", headers=jake.auth)
    assert response.status_code == 401
    follow = await client.post("/api/profiles/anyone/follow", headers=jake.auth)
    assert follow.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/user"),
        ("PUT", "/api/user"),
        ("POST", "/api/profiles/jake/follow"),
        ("DELETE", "/api/profiles/jake/follow"),
    ],
)
async def test_every_protected_users_and_profiles_route_requires_a_token(client, method, path):
    response = await client.request(method, path, json={"user": {}})
    assert response.status_code == 401
    assert response.json() == TOKEN_MISSING


async def test_a_bad_token_is_401_even_where_authentication_is_optional(client):
    response = await client.get("/api/profiles/jake", headers={"Authorization": "Token bad"})
    assert response.status_code == 401
