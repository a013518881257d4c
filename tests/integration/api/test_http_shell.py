"""What every endpoint shares: CORS, the body size limit, the error body, ignored fields."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from conduit.domain.users.models import User
from conduit.http.app import create_app
from tests.conftest import asgi_client, make_settings
from tests.factories import make_user

FRONT_END = "https://front.example"
ONE_MIB = 1024 * 1024


@pytest.fixture
async def cors_client(migrated_url, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(migrated_url, cors_origins=(FRONT_END,)), database=database)
    async with asgi_client(app) as client:
        yield client


# CORS


async def test_cors_preflight_from_a_configured_origin_is_allowed(cors_client):
    response = await cors_client.options(
        "/api/user",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONT_END
    assert "PUT" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers


async def test_cors_headers_are_on_answers_to_a_configured_origin_errors_included(cors_client):
    response = await cors_client.get("/api/user", headers={"Origin": FRONT_END})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == FRONT_END


async def test_cors_lets_a_front_end_send_and_read_the_read_after_position(cors_client):
    preflight = await cors_client.options(
        "/api/articles",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "conduit-read-after",
        },
    )
    answer = await cors_client.get("/api/tags", headers={"Origin": FRONT_END})

    assert preflight.status_code == 200
    assert "conduit-read-after" in preflight.headers["access-control-allow-headers"].lower()
    assert "conduit-read-after" in answer.headers["access-control-expose-headers"].lower()


async def test_cors_does_not_allow_an_unconfigured_origin(cors_client):
    response = await cors_client.options(
        "/api/user",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers
    simple = await cors_client.get("/api/profiles/x", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


async def test_without_cors_origins_no_cors_headers_are_sent(client):
    response = await client.get("/api/profiles/x", headers={"Origin": FRONT_END})
    assert "access-control-allow-origin" not in response.headers


# Body size limit


def oversized_registration() -> bytes:
    user = {"username": "big", "email": "big@mail.com", "password": "password"}
    return json.dumps({"user": user, "padding": "x" * ONE_MIB}).encode()


async def test_a_body_over_one_mib_is_413_with_the_error_body(client):
    response = await client.post(
        "/api/users", content=oversized_registration(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert list(response.json()["errors"]) == ["request"]


async def test_a_streamed_body_over_one_mib_is_413_without_a_content_length(client, database):
    body = oversized_registration()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await client.post(
        "/api/users", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert list(response.json()["errors"]) == ["request"]
    async with database.unit_of_work() as session:
        assert (await session.execute(select(User).where(User.username == "big"))).first() is None


async def test_a_body_just_under_the_limit_is_read(client):
    user = {"username": "fits", "email": "fits@mail.com", "password": "password"}
    body = json.dumps({"user": user, "padding": ""}).encode()
    body = body.replace(b'"padding": ""', b'"padding": "' + b"x" * (ONE_MIB - len(body)) + b'"')
    assert len(body) == ONE_MIB
    response = await client.post(
        "/api/users", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201


# One error body everywhere


async def test_an_unknown_path_is_404_with_the_error_body(client):
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert list(response.json()) == ["errors"]


async def test_a_wrong_method_is_405_with_the_error_body(client):
    response = await client.patch("/api/user", json={})
    assert response.status_code == 405
    assert list(response.json()) == ["errors"]


async def test_malformed_json_is_422_with_the_error_body(client):
    response = await client.post(
        "/api/users", content=b'{"user": {', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json() == {"errors": {"body": ["is not valid JSON"]}}


async def test_a_missing_body_is_422_with_the_error_body(client):
    response = await client.post("/api/users/login")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert all(isinstance(messages, list) for messages in errors.values())


async def test_a_wrongly_typed_field_is_422_naming_it(client):
    response = await client.post(
        "/api/users", json={"user": {"username": 42, "email": "a@b.co", "password": "password"}}
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["username"]


# Unknown and server-owned fields


async def test_registration_ignores_unknown_and_server_owned_fields(client, database, settings):
    user = {
        "username": "sneaky",
        "email": "sneaky@mail.com",
        "password": "password",
        "role": "admin",
        "credits": 1_000_000,
        "is_active": False,
        "isActive": False,
        "id": "00000000-0000-7000-8000-000000000000",
        "created_at": "2000-01-01T00:00:00Z",
        "createdAt": "2000-01-01T00:00:00Z",
        "favouriteColour": "green",
    }
    response = await client.post("/api/users", json={"user": user, "extra": True})
    assert response.status_code == 201
    assert set(response.json()["user"]) == {"email", "token", "username", "bio", "image"}
    async with database.unit_of_work() as session:
        stored = (await session.execute(select(User).where(User.username == "sneaky"))).scalar_one()
    assert stored.role == "user"
    assert stored.credits == settings.initial_credits
    assert stored.is_active is True
    assert str(stored.id) != user["id"]
    assert stored.created_at.year > 2000


async def test_update_ignores_unknown_and_server_owned_fields(client, app, database):
    jake = await make_user(app, credits=5)
    response = await client.put(
        "/api/user",
        json={"user": {"role": "admin", "credits": 999, "is_active": False, "bio": "ok"}},
        headers=jake.auth,
    )
    assert response.status_code == 200
    async with database.unit_of_work() as session:
        stored = (await session.execute(select(User).where(User.id == jake.user.id))).scalar_one()
    assert (stored.role, stored.credits, stored.is_active) == ("user", 5, True)
