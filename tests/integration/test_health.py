"""Liveness and readiness: ping on both dialects, unreachable servers, the HTTP probes and docs."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.db.engine import create_engine
from conduit.db.errors import Unavailable
from conduit.db.health import ping
from conduit.db.session import Database
from conduit.http.app import create_app
from conduit.http.routes.health import READY_TIMEOUT_SECONDS
from tests.conftest import asgi_client, make_settings

# A probe gives up after a few seconds; readiness must answer well within that.
PROBE_PATIENCE_SECONDS = READY_TIMEOUT_SECONDS + 1.5


def closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def blackhole_port() -> Iterator[int]:
    """A local port that accepts TCP connections (the kernel's backlog) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


def pg_url(port: int) -> str:
    return f"postgresql://conduit:hunter2@127.0.0.1:{port}/conduit"


# --- ping -----------------------------------------------------------------------------------


async def test_ping_reports_latency_and_server_version(engine: AsyncEngine, dialect: str) -> None:
    result = await ping(engine)
    assert result.dialect == dialect
    assert 0 < result.latency_ms < 5000
    assert re.match(r"^\d+\.\d+", result.server_version)


async def test_ping_of_a_closed_port_is_unavailable_at_once() -> None:
    engine = create_engine(make_settings(pg_url(closed_port())).database)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable) as caught:
            await ping(engine, timeout=5)
    finally:
        await engine.dispose()
    assert time.monotonic() - started < 2
    assert "hunter2" not in caught.value.message


async def test_ping_of_a_server_that_never_answers_is_unavailable_within_the_timeout(
    blackhole_port: int,
) -> None:
    engine = create_engine(make_settings(pg_url(blackhole_port)).database)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable, match=r"within 0\.5 s"):
            await ping(engine, timeout=0.5)
    finally:
        await engine.dispose()
    assert time.monotonic() - started < 2


async def test_the_connect_timeout_bounds_a_silent_server_too(blackhole_port: int) -> None:
    settings = make_settings(pg_url(blackhole_port), db_connect_timeout=0.3)
    engine = create_engine(settings.database)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable):
            await ping(engine, timeout=10)
    finally:
        await engine.dispose()
    assert time.monotonic() - started < 3


# --- the HTTP probes --------------------------------------------------------------------------


@pytest.fixture
async def unreachable_client(
    request: pytest.FixtureRequest,
) -> AsyncIterator[httpx.AsyncClient]:
    port = request.getfixturevalue(request.param)
    settings = make_settings(pg_url(port))
    database = Database.from_config(settings.database)
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://conduit.test") as client:
            yield client
    finally:
        await database.dispose()


@pytest.fixture
def refused_port() -> int:
    return closed_port()


async def test_health_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_answers_with_the_database_round_trip(
    client: httpx.AsyncClient, dialect: str
) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == dialect
    assert body["latencyMs"] >= 0
    assert re.match(r"^\d+\.\d+", body["serverVersion"])


@pytest.mark.parametrize("unreachable_client", ["refused_port", "blackhole_port"], indirect=True)
async def test_ready_with_the_database_unreachable_is_503_without_hanging(
    unreachable_client: httpx.AsyncClient,
) -> None:
    started = time.monotonic()
    response = await unreachable_client.get("/health/ready", timeout=PROBE_PATIENCE_SECONDS + 5)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert elapsed < PROBE_PATIENCE_SECONDS
    body = response.json()
    assert set(body) == {"errors"}
    assert list(body["errors"]) == ["database"]
    # The cause (host, port, driver text) is logged, never shown to the client.
    assert body["errors"]["database"] == ["unavailable"]
    assert "hunter2" not in response.text


@pytest.mark.parametrize("unreachable_client", ["refused_port"], indirect=True)
async def test_liveness_does_not_depend_on_the_database(
    unreachable_client: httpx.AsyncClient,
) -> None:
    response = await unreachable_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# --- docs without a CDN, and the shell's error bodies --------------------------------------


ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_render_with_assets_served_by_the_app(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    assert not re.search(r"cdn\.|jsdelivr|unpkg|cdnjs|googleapis|https?://", html)
    assets = [link for link in ASSET.findall(html) if not link.startswith("#")]
    assert any(link.endswith(".js") for link in assets)
    for link in assets:
        asset = await client.get(link)
        assert asset.status_code == 200, link
        assert asset.content


async def test_the_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert "/health/ready" in response.json()["paths"]


async def test_an_unknown_path_is_404_with_the_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/path")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"errors"}
    assert "detail" not in response.text


async def test_a_body_over_one_mib_is_413_with_the_error_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/users",
        content=b"{" + b" " * (1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert set(response.json()) == {"errors"}
    assert response.json()["errors"]["request"]


async def test_a_streamed_body_over_one_mib_is_413_with_the_error_body(app: FastAPI) -> None:
    # A route of this test's own that reads the body: the limit must hold without Content-Length.
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app.add_api_route("/test-echo", echo, methods=["POST"])

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(17):
            yield b"x" * 65536

    async with asgi_client(app) as client:
        small = await client.post("/test-echo", content=b"x" * 1000)
        assert small.json() == {"size": 1000}
        response = await client.post("/test-echo", content=chunks())
    assert response.status_code == 413
    assert set(response.json()) == {"errors"}
