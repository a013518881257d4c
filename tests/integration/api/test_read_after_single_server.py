"""On one database server (no replicas) a write answers no read-after position and reads ignore
one: every read sees every commit, and the endpoints' statement counts stay as pinned."""

from __future__ import annotations

from conduit.http.read_after import COOKIE, HEADER

SIGN_UP = {"user": {"username": "single", "email": "single@example.com", "password": "password1"}}


async def test_a_write_answers_no_position_without_replicas(client):
    response = await client.post("/api/users", json=SIGN_UP)

    assert response.status_code == 201
    assert HEADER.lower() not in response.headers
    assert "set-cookie" not in response.headers


async def test_a_read_ignores_a_position_without_replicas(client):
    client.cookies.set(COOKIE, "not-a-position")

    response = await client.get("/api/articles", headers={HEADER: "not a position either"})

    assert response.status_code == 200
