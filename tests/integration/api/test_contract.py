"""``/openapi.json`` says what the server does: security, statuses, error bodies, request rules.

The patterns the contract publishes are checked against the server's own answers, so the two
cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conduit.http.schemas.common import NON_BLANK_PATTERN
from conduit.http.schemas.users import EMAIL_DOMAIN_PATTERN, IMAGE_PATTERN, USERNAME_PATTERN
from tests.factories import make_user

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture
async def contract(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(contract: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, items in contract["paths"].items():
        for method, operation in items.items():
            if method in METHODS:
                yield path, method, operation


async def test_the_token_scheme_is_declared(contract):
    assert contract["components"]["securitySchemes"]["Token"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Token <jwt>`: the `token` of a user response (`Bearer` works too)",
    }


@pytest.mark.parametrize(
    ("path", "method", "security"),
    [
        ("/api/user", "get", [{"Token": []}]),
        ("/api/user", "put", [{"Token": []}]),
        ("/api/articles", "post", [{"Token": []}]),
        ("/api/articles/feed", "get", [{"Token": []}]),
        ("/api/credits/transfer", "post", [{"Token": []}]),
        ("/api/admin/stats", "get", [{"Token": []}]),
        ("/api/articles", "get", [{}, {"Token": []}]),
        ("/api/articles/{slug}", "get", [{}, {"Token": []}]),
        ("/api/profiles/{username}", "get", [{}, {"Token": []}]),
        ("/api/articles/{slug}/comments", "get", [{}, {"Token": []}]),
        ("/api/tags", "get", None),
        ("/api/users/login", "post", None),
        ("/api/users", "post", None),
        ("/health", "get", None),
    ],
)
async def test_each_operation_says_whether_it_needs_a_token(contract, path, method, security):
    assert contract["paths"][path][method].get("security") == security


async def test_an_operation_that_needs_a_token_answers_401_without_one(client, contract):
    for path, method, operation in operations(contract):
        if operation.get("security") == [{"Token": []}]:
            concrete = path.replace("{slug}", "a-slug").replace("{username}", "someone")
            response = await client.request(method.upper(), concrete.replace("{id}", "1"))
            assert response.status_code == 401, (method, path)


async def test_every_error_status_answers_the_one_error_body(contract):
    for path, method, operation in operations(contract):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == ERROR_REF, (method, path, status)
    schemas = contract["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ErrorBody"]["properties"]["errors"]["type"] == "object"


async def test_the_statuses_follow_from_how_each_operation_is_built(contract):
    for path, method, operation in operations(contract):
        statuses = set(operation["responses"])
        if operation.get("security"):
            assert "401" in statuses, (method, path)
        if "requestBody" in operation:
            assert {"413", "422"} <= statuses, (method, path)
        if operation.get("parameters"):
            assert "422" in statuses, (method, path)
        if path.startswith("/api/"):
            assert "503" in statuses, (method, path)
            assert operation["responses"]["503"]["headers"]["Retry-After"]
    assert "503" not in contract["paths"]["/health"]["get"]["responses"]
    for path in ("/api/users/login", "/api/users"):
        limited = contract["paths"][path]["post"]["responses"]["429"]
        assert "Retry-After" in limited["headers"]


def strings(schema: dict[str, Any], contract: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every string schema under ``schema``, following references."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        yield from strings(contract["components"]["schemas"][name], contract)
        return
    if schema.get("type") == "string":
        yield schema
    for option in schema.get("anyOf", ()):
        yield from strings(option, contract)
    if isinstance(schema.get("items"), dict):
        yield from strings(schema["items"], contract)
    for item in schema.get("properties", {}).values():
        yield from strings(item, contract)


async def test_every_string_a_request_carries_states_a_pattern_or_format(contract):
    for path, method, operation in operations(contract):
        schemas = [parameter["schema"] for parameter in operation.get("parameters", ())]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            schemas.append(body["schema"])
        for schema in schemas:
            for string in strings(schema, contract):
                assert "pattern" in string or "format" in string, (method, path, string)


async def test_request_schemas_carry_the_servers_rules(contract):
    schemas = contract["components"]["schemas"]
    update = schemas["ArticleUpdate"]["properties"]
    for name in ("title", "description", "body", "tagList"):
        assert "anyOf" not in update[name], name  # omittable, never null
    assert update["body"]["pattern"] == NON_BLANK_PATTERN
    new_user = schemas["NewUser"]["properties"]
    assert new_user["email"]["format"] == "email"
    assert new_user["username"]["pattern"] == USERNAME_PATTERN
    assert new_user["username"]["maxLength"] == 64
    user_update = schemas["UpdateUser"]["properties"]
    assert "anyOf" not in user_update["email"]
    assert {"type": "null"} in user_update["bio"]["anyOf"]  # null clears it
    cursor = next(
        p for p in contract["paths"]["/api/articles"]["get"]["parameters"] if p["name"] == "cursor"
    )
    assert cursor["schema"]["minLength"] == 1


# Each published pattern against the server: a value matches it exactly when the server takes it.


@pytest.mark.parametrize(
    "username", ["alice", " alice ", "a.b-c_d", "élan", "..", ".", "a b", "a/b", "a%b", "-"]
)
async def test_the_username_pattern_is_the_servers_rule(client, username):
    user = {"username": username, "email": "pattern@mail.com", "password": "password"}
    response = await client.post("/api/users", json={"user": user})
    accepted = response.status_code == 201
    assert accepted == bool(re.search(USERNAME_PATTERN, username)), response.text


@pytest.mark.parametrize(
    "email", ["a@b.co", "a@mail.example", "a@host.test", "a@host.TEST", "a@b.localhost"]
)
async def test_the_email_domain_pattern_is_the_servers_rule(client, email):
    user = {"username": "emailpattern", "email": email, "password": "password"}
    response = await client.post("/api/users", json={"user": user})
    accepted = response.status_code == 201
    assert accepted == bool(re.search(EMAIL_DOMAIN_PATTERN, email)), response.text


@pytest.mark.parametrize(
    "image",
    [
        "",
        "https://img.example/a.png",
        "http://img.example",
        "http://img.example?x=1",
        "ftp://img.example/a.png",
        "https://",
        "https:///a.png",
        "https://img.example/a b.png",
        "img.example/a.png",
    ],
)
async def test_the_image_pattern_is_the_servers_rule(app, client, image):
    caller = await make_user(app)
    response = await client.put("/api/user", json={"user": {"image": image}}, headers=caller.auth)
    accepted = response.status_code == 200
    assert accepted == bool(re.search(IMAGE_PATTERN, image)), response.text


@pytest.mark.parametrize("title", ["t", " t ", "\tt", "   ", "\u00a0", ""])
async def test_the_non_blank_pattern_is_the_servers_rule(app, client, title):
    caller = await make_user(app)
    article = {"title": title, "description": "d", "body": "b"}
    response = await client.post("/api/articles", json={"article": article}, headers=caller.auth)
    accepted = response.status_code == 201
    assert accepted == bool(re.search(NON_BLANK_PATTERN, title)), response.text
