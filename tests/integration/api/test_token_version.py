"""A password change ends every token issued before it; other changes end none."""

from __future__ import annotations

import datetime as dt

import jwt
from sqlalchemy import select

from conduit.domain.users.models import User
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, make_user
from tests.statements import assert_max_statements


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


async def change_password(client, token: str, password: str):
    return await client.put("/api/user", json={"user": {"password": password}}, headers=auth(token))


async def test_a_password_change_rejects_older_tokens_and_answers_a_valid_one(client, app):
    jake = await make_user(app)
    logged_in = await client.post(
        "/api/users/login", json={"user": {"email": jake.user.email, "password": PASSWORD}}
    )
    second_device = logged_in.json()["user"]["token"]

    changed = await change_password(client, jake.token, "a brand new secret")
    assert changed.status_code == 200
    fresh = changed.json()["user"]["token"]
    assert fresh != jake.token

    for old in (jake.token, second_device):
        response = await client.get("/api/user", headers=auth(old))
        assert response.status_code == 401
        assert response.json() == {"errors": {"token": ["is invalid"]}}
    # Still one statement: the version is matched by the statement that loads the account.
    with assert_max_statements(1):
        me = await client.get("/api/user", headers=auth(fresh))
    assert me.status_code == 200
    assert me.json()["user"]["username"] == jake.username


async def test_each_password_change_moves_the_version_on(client, app, database):
    jake = await make_user(app)
    first = (await change_password(client, jake.token, "secret number one")).json()["user"]
    second = (await change_password(client, first["token"], "secret number two")).json()["user"]
    assert (await client.get("/api/user", headers=auth(first["token"]))).status_code == 401
    assert (await client.get("/api/user", headers=auth(second["token"]))).status_code == 200
    async with database.reader() as session:
        version = await session.scalar(select(User.token_version).where(User.id == jake.user.id))
    assert version == 2
    claims = jwt.decode(second["token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["ver"] == 2
    login = {"user": {"email": jake.user.email, "password": "secret number two"}}
    logged_in = await client.post("/api/users/login", json=login)
    assert (
        jwt.decode(logged_in.json()["user"]["token"], TEST_SECRET, algorithms=["HS256"])["ver"] == 2
    )


async def test_changes_other_than_the_password_keep_the_token(client, app):
    jake = await make_user(app)
    response = await client.put(
        "/api/user",
        json={"user": {"bio": "new bio", "email": "moved@example.com"}},
        headers=jake.auth,
    )
    assert response.status_code == 200
    assert response.json()["user"]["token"] == jake.token
    assert (await client.get("/api/user", headers=jake.auth)).status_code == 200


async def test_a_token_without_a_version_counts_as_the_first_version(client, app):
    # Tokens issued before versions existed carry no "ver": valid until the first change.
    jake = await make_user(app)
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": str(jake.user.id), "iat": now, "exp": now + dt.timedelta(hours=1)}
    legacy = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    assert (await client.get("/api/user", headers=auth(legacy))).status_code == 200
    assert (await change_password(client, legacy, "a brand new secret")).status_code == 200
    assert (await client.get("/api/user", headers=auth(legacy))).status_code == 401


async def test_a_token_with_a_malformed_version_is_invalid(client, app):
    jake = await make_user(app)
    now = dt.datetime.now(dt.UTC)
    for version in ("0", -1, 1.5, None):
        claims = {
            "sub": str(jake.user.id),
            "ver": version,
            "iat": now,
            "exp": now + dt.timedelta(hours=1),
        }
        token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
        response = await client.get("/api/user", headers=auth(token))
        assert response.status_code == 401, version
