"""Production safety over the real app: trusted hosts, no reflected Host, docs and metrics off.

Body timeouts and forwarded headers need a real server and socket: ``test_abuse_server.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import URL

from conduit.db.session import Database
from conduit.http.app import create_app
from conduit.settings import load_settings
from tests.conftest import TEST_SECRET

METRICS_TOKEN = "scrape-token-of-32-bytes-or-more-000"
HOST = "conduit.example.com"
FOREIGN = "evil.example.net"


@pytest.fixture
def production_app(migrated_url: URL, database: Database):
    def build(**overrides: Any) -> FastAPI:
        settings = load_settings(
            _env_file=None,
            database_url=migrated_url.render_as_string(hide_password=False),
            **{
                "environment": "production",
                "secret_key": TEST_SECRET,
                "allowed_hosts": f"{HOST},*.{HOST}",
                "metrics_token": METRICS_TOKEN,
                **overrides,
            },
        )
        return create_app(settings, database=database)

    return build


@asynccontextmanager
async def client_for(app: FastAPI, host: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
        yield client


@pytest.mark.parametrize("path", ["/api/tags", "/api/articles/", "/health", "/docs"])
async def test_a_foreign_host_gets_400_and_is_never_reflected(production_app, path: str) -> None:
    async with client_for(production_app(), FOREIGN) as client:
        response = await client.get(path)
    assert response.status_code == 400
    assert response.json() == {"errors": {"host": ["is not allowed"]}}
    assert "location" not in response.headers
    assert FOREIGN not in response.text
    assert all(FOREIGN not in value for value in response.headers.values())


@pytest.mark.parametrize(("host", "status"), [(FOREIGN, 400), (HOST, 413)])
async def test_a_foreign_host_is_refused_before_an_oversized_body(production_app, host, status):
    oversized = {"Content-Length": str(2 * 1024 * 1024), "Content-Type": "application/json"}
    async with client_for(production_app(), host) as client:
        response = await client.post("/api/articles", content=b"{}", headers=oversized)
    assert response.status_code == status
    assert list(response.json()["errors"]) == ["host" if status == 400 else "request"]


@pytest.mark.parametrize("host", [HOST, f"api.{HOST}", f"{HOST}:8443"])
async def test_an_allowed_host_is_served_and_redirects_to_itself(production_app, host) -> None:
    async with client_for(production_app(), host) as client:
        assert (await client.get("/api/tags")).status_code == 200
        redirect = await client.get("/api/articles/")
    assert redirect.status_code == 307
    assert redirect.headers["location"] == f"http://{host}/api/articles"


async def test_allowed_hosts_star_lets_any_host_through(production_app) -> None:
    async with client_for(production_app(allowed_hosts="*"), FOREIGN) as client:
        assert (await client.get("/api/tags")).status_code == 200


async def test_outside_production_any_host_is_served_by_default(app) -> None:
    async with client_for(app, FOREIGN) as client:
        assert (await client.get("/api/tags")).status_code == 200


async def test_production_serves_no_docs_by_default(production_app) -> None:
    async with client_for(production_app(), HOST) as client:
        for path in ("/docs", "/redoc"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json() == {"errors": {"path": ["not found"]}}


async def test_docs_enabled_turns_the_docs_on_in_production(production_app) -> None:
    async with client_for(production_app(docs_enabled=True), HOST) as client:
        for path in ("/docs", "/redoc"):
            assert (await client.get(path)).status_code == 200, path


async def test_docs_enabled_false_turns_the_docs_off_in_development(app, migrated_url, database):
    settings = app.state.settings
    assert settings.serves_docs is True
    async with client_for(app, "conduit.test") as client:
        assert (await client.get("/docs")).status_code == 200
    off = create_app(settings.model_copy(update={"docs_enabled": False}), database=database)
    async with client_for(off, "conduit.test") as client:
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/redoc")).status_code == 404


async def test_production_metrics_answer_only_with_the_token(production_app) -> None:
    async with client_for(production_app(), HOST) as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json() == {"errors": {"token": ["is invalid"]}}
        ok = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert ok.status_code == 200
        assert "conduit_db_schema_at_head" in ok.text
