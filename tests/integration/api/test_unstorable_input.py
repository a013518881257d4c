"""Input the database cannot store, and bodies that cannot be parsed: 422, never a 5xx.

Each request would reach a statement with the text in it: the callers are signed in (as an
admin, who may call everything), the articles and accounts named exist. Both dialects.
"""

from __future__ import annotations

from typing import Any

import pytest

from conduit.http.input import MAX_DEPTH, UNSTORABLE
from tests.factories import make_user
from tests.integration.api.admin_support import insert_article

NUL = "a\x00b"
SLUG = "a-title"

# (method, path, JSON body or None, the field the 422 names)
CASES: list[tuple[str, str, Any, str]] = [
    (
        "POST",
        "/api/articles",
        {"article": {"title": NUL, "description": "d", "body": "b"}},
        "title",
    ),
    (
        "POST",
        "/api/articles",
        {"article": {"title": "t", "description": NUL, "body": "b"}},
        "description",
    ),
    ("POST", "/api/articles", {"article": {"title": "t", "description": "d", "body": NUL}}, "body"),
    (
        "POST",
        "/api/articles",
        {"article": {"title": "t", "description": "d", "body": "b", "tagList": ["ok", NUL]}},
        "tagList",
    ),
    ("PUT", f"/api/articles/{SLUG}", {"article": {"title": NUL}}, "title"),
    ("PUT", f"/api/articles/{SLUG}", {"article": {"body": NUL}}, "body"),
    ("POST", f"/api/articles/{SLUG}/comments", {"comment": {"body": NUL}}, "body"),
    ("PUT", "/api/user", {"user": {"bio": NUL}}, "bio"),
    ("PUT", "/api/user", {"user": {"image": f"https://x.example/{NUL}"}}, "image"),
    ("POST", "/api/users/login", {"user": {"email": NUL, "password": "password"}}, "email"),
    (
        "POST",
        "/api/users",
        {"user": {"username": "nul", "email": f"{NUL}@mail.com", "password": "password"}},
        "email",
    ),
    ("POST", "/api/credits/transfer", {"transfer": {"to": NUL, "amount": 1}}, "to"),
    ("POST", "/api/admin/credits/grant", {"grant": {"usernames": [NUL], "amount": 1}}, "usernames"),
    ("GET", "/api/articles?author=a%00b", None, "author"),
    ("GET", "/api/articles?favorited=a%00b", None, "favorited"),
    ("GET", "/api/articles?tag=a%00b", None, "tag"),
    ("GET", "/api/articles?q=a%00b", None, "q"),
    ("GET", "/api/articles?cursor=a%00b", None, "cursor"),
    ("GET", "/api/credits?cursor=a%00b", None, "cursor"),
    ("GET", "/api/profiles?q=a%00b", None, "q"),
    ("GET", "/api/articles/a%00b", None, "slug"),
    ("PUT", "/api/articles/a%00b", {"article": {"title": "t"}}, "slug"),
    ("DELETE", "/api/articles/a%00b", None, "slug"),
    ("POST", "/api/articles/a%00b/favorite", None, "slug"),
    ("DELETE", "/api/articles/a%00b/favorite", None, "slug"),
    ("GET", "/api/articles/a%00b/comments", None, "slug"),
    ("POST", "/api/articles/a%00b/comments", {"comment": {"body": "b"}}, "slug"),
    ("DELETE", "/api/articles/a%00b/comments/1", None, "slug"),
    ("POST", "/api/admin/articles/a%00b/restore", None, "slug"),
    ("GET", "/api/profiles/a%00b", None, "username"),
    ("POST", "/api/profiles/a%00b/follow", None, "username"),
    ("DELETE", "/api/profiles/a%00b/follow", None, "username"),
]


@pytest.fixture
async def admin(app):
    caller = await make_user(app, role="admin")
    await insert_article(app, caller, slug=SLUG)
    return caller


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{method} {path} {field}" for method, path, _, field in CASES]
)
async def test_a_nul_character_is_422_naming_the_field(client, admin, case):
    method, path, body, field = case
    response = await client.request(method, path, json=body, headers=admin.auth)
    assert response.status_code == 422, response.text
    assert response.json() == {"errors": {field: [UNSTORABLE]}}


async def test_the_rule_applies_before_authentication(client):
    response = await client.get("/api/articles/feed?cursor=a%00b")
    assert response.status_code == 422
    assert response.json() == {"errors": {"cursor": [UNSTORABLE]}}


async def test_an_unpaired_surrogate_is_422_naming_the_field(client, admin):
    # The JSON escape decodes to a lone surrogate, which no dialect can encode as UTF-8.
    raw = b'{"article": {"title": "t\\ud800", "description": "d", "body": "b"}}'
    response = await client.post(
        "/api/articles",
        content=raw,
        headers={**admin.auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json() == {"errors": {"title": [UNSTORABLE]}}


async def test_every_unstorable_field_is_named_at_once(client, admin):
    article = {"title": NUL, "description": NUL, "body": "b"}
    response = await client.post("/api/articles", json={"article": article}, headers=admin.auth)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"title", "description"}


async def test_storable_control_characters_are_kept(client, admin):
    body = "tab\there, bell\x07 and escape\x1b"
    article = {"title": "Controls", "description": "d", "body": body}
    response = await client.post("/api/articles", json={"article": article}, headers=admin.auth)
    assert response.status_code == 201
    fetched = await client.get(f"/api/articles/{response.json()['article']['slug']}")
    assert fetched.json()["article"]["body"] == body


def nested(depth: int) -> bytes:
    """A login body whose password field holds arrays nested ``depth`` levels in all."""
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return f'{{"user": {{"email": "a@b.co", "password": {inner}}}}}'.encode()


UNPARSABLE: list[tuple[str, bytes, str]] = [
    ("truncated", b'{"user": {', "is not valid JSON"),
    (
        "latin-1",
        '{"user": {"email": "é@b.co", "password": "p"}}'.encode("latin-1"),
        "is not valid UTF-8",
    ),
    ("random bytes", b"\x81\xff{}", "is not valid UTF-8"),
    (
        "UTF-16",
        '{"user": {"email": "a@b.co", "password": "p"}}'.encode("utf-16"),
        "is not valid UTF-8",
    ),
    ("deeper than the limit", nested(MAX_DEPTH + 1), f"is nested deeper than {MAX_DEPTH} levels"),
    ("past the parser's stack", nested(100_000), f"is nested deeper than {MAX_DEPTH} levels"),
    (
        "a 5,000-digit number",
        b'{"user": {"email": "a@b.co", "password": ' + b"9" * 5000 + b"}}",
        "is not valid JSON",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"), [(b, m) for _, b, m in UNPARSABLE], ids=[n for n, _, _ in UNPARSABLE]
)
async def test_an_unparsable_body_is_422_under_body(client, body, message):
    response = await client.post(
        "/api/users/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json() == {"errors": {"body": [message]}}


async def test_nesting_at_the_limit_is_parsed(client):
    response = await client.post(
        "/api/users/login", content=nested(MAX_DEPTH), headers={"Content-Type": "application/json"}
    )
    # Parsed, then refused by the schema: a list is not a password.
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["password"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/articles", "GET, POST"),
        (f"/api/articles/{SLUG}", "DELETE, GET, PUT"),
        (f"/api/articles/{SLUG}/favorite", "DELETE, POST"),
        (f"/api/articles/{SLUG}/comments", "GET, POST"),
        ("/api/profiles/someone/follow", "DELETE, POST"),
        ("/api/user", "GET, PUT"),
        ("/api/users", "POST"),
    ],
)
async def test_a_405_allows_every_method_of_the_path(client, path, allowed):
    response = await client.request("OPTIONS", path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json() == {"errors": {"method": ["method not allowed"]}}
    patched = await client.patch(path, json={})
    assert patched.headers["allow"] == allowed


async def test_keys_a_body_does_not_declare_are_ignored_not_checked(client, admin):
    article = {"title": "Extra", "description": "d", "body": "b", "note": NUL, "slug": [NUL]}
    response = await client.post(
        "/api/articles", json={"article": article, "extra": NUL}, headers=admin.auth
    )
    assert response.status_code == 201
