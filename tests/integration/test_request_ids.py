"""Request ids: taken from ``X-Request-ID`` when sane, made up otherwise, returned, and on
every log line of the request, the database layer's included."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import URL

from conduit.db.session import Database
from conduit.http.app import create_app
from conduit.log import RequestIdFilter
from tests.conftest import asgi_client, make_settings
from tests.live_server import serving

_GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
async def logging_client(
    migrated_url: URL, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that logs every statement (the application's own engines), its log
    captured through the filter the service's log handler uses."""
    settings = make_settings(migrated_url, slow_query_ms=0)
    database = Database.from_config(settings.database)
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO)
    try:
        async with asgi_client(create_app(settings, database=database)) as client:
            yield client
    finally:
        await database.dispose()


def _ids_of(caplog: pytest.LogCaptureFixture) -> set[str]:
    """The request ids of what the service logged (the test's HTTP client logs its own)."""
    return {
        record.request_id  # type: ignore[attr-defined]  # set by RequestIdFilter
        for record in caplog.records
        if record.name.startswith("conduit.")
    }


async def test_a_given_id_is_returned_and_on_every_log_record_of_the_request(
    logging_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await logging_client.get("/api/tags", headers={"X-Request-ID": "edge-7f3a:01"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "edge-7f3a:01"
    slow = [record for record in caplog.records if record.name == "conduit.db.slow"]
    assert any("FROM tags" in record.getMessage() for record in slow)
    assert _ids_of(caplog) == {"edge-7f3a:01"}


async def test_an_id_is_made_up_per_request_when_none_is_given(
    logging_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    first = await logging_client.get("/api/tags")
    caplog.clear()
    second = await logging_client.get("/api/tags")
    ids = [response.headers["x-request-id"] for response in (first, second)]
    assert all(_GENERATED.fullmatch(value) for value in ids)
    assert ids[0] != ids[1]
    assert _ids_of(caplog) == {ids[1]}


@pytest.mark.parametrize(
    "hostile",
    ["a" * 129, "forged\nWARNING conduit: fake line", "two words", 'quote"d', "", "é"],
    ids=["too-long", "newline", "space", "quote", "empty", "non-ascii"],
)
async def test_a_hostile_id_is_replaced(
    logging_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, hostile: str
) -> None:
    response = await logging_client.get("/api/tags", headers=[(b"X-Request-ID", hostile.encode())])
    assert response.status_code == 200
    returned = response.headers["x-request-id"]
    assert _GENERATED.fullmatch(returned)
    assert _ids_of(caplog) == {returned}


async def test_an_id_at_the_longest_is_kept(logging_client: httpx.AsyncClient) -> None:
    longest = "A-z.0_9:" * 16
    response = await logging_client.get("/api/tags", headers={"X-Request-ID": longest})
    assert response.headers["x-request-id"] == longest


async def test_errors_return_the_id_too(logging_client: httpx.AsyncClient) -> None:
    response = await logging_client.get("/api/profiles/nobody", headers={"X-Request-ID": "r-404"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "r-404"


async def test_an_unhandled_error_is_logged_under_the_request_id(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/boom", boom)
    caplog.handler.addFilter(RequestIdFilter())
    async with asgi_client(app, raise_app_exceptions=False) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "r-500"})
    assert response.status_code == 500
    [record] = [record for record in caplog.records if record.getMessage() == "unhandled error"]
    assert record.request_id == "r-500"  # type: ignore[attr-defined]  # set by RequestIdFilter


async def test_a_browser_app_may_send_and_read_the_id(
    migrated_url: URL, database: Database
) -> None:
    front_end = "https://app.example"
    app = create_app(make_settings(migrated_url, cors_origins=(front_end,)), database=database)
    async with asgi_client(app) as client:
        preflight = await client.options(
            "/api/tags",
            headers={
                "Origin": front_end,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-request-id",
            },
        )
        response = await client.get(
            "/api/tags", headers={"Origin": front_end, "X-Request-ID": "web-1"}
        )
    assert preflight.status_code == 200
    assert "x-request-id" in preflight.headers["access-control-allow-headers"].lower()
    assert response.headers["x-request-id"] == "web-1"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_the_server_log_names_the_request_on_access_and_statement_lines(
    migrated_url: URL, tmp_path: Path
) -> None:
    env = {"LOG_FORMAT": "json", "SLOW_QUERY_MS": "0", "ACCESS_LOG": "true"}
    with serving(migrated_url, tmp_path, env=env) as live:
        response = httpx.get(
            f"{live.base_url}/api/tags", headers={"X-Request-ID": "live-1"}, timeout=10
        )
        assert response.headers["x-request-id"] == "live-1"
    lines = [json.loads(line) for line in live.output().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line["request_id"] == "live-1"]
    loggers = {line["logger"] for line in mine}
    assert {"uvicorn.access", "conduit.db.slow"} <= loggers, lines
    assert any("FROM tags" in line["message"] for line in mine)
    # Lines outside any request (start-up, shut-down) say so.
    assert any(line["request_id"] == "-" and line["logger"] == "uvicorn.error" for line in lines)


def test_the_server_writes_no_access_line_by_default(migrated_url: URL, tmp_path: Path) -> None:
    # The access line is the load balancer's job; /metrics counts requests by route and status.
    with serving(migrated_url, tmp_path, env={"LOG_FORMAT": "json"}) as live:
        assert httpx.get(f"{live.base_url}/api/tags", timeout=10).status_code == 200
    lines = [json.loads(line) for line in live.output().splitlines() if line.startswith("{")]
    assert lines  # start-up and shut-down are still logged
    assert not [line for line in lines if line["logger"] == "uvicorn.access"], lines
