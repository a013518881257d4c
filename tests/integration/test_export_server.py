"""The articles export over a live server: it streams, and lets go of the database.

A real ``conduit serve`` process on a PostgreSQL database seeded with 10,000 articles by
``conduit db seed``. The client reads with a small socket receive buffer, so a server that
streams is held back by TCP flow control once the buffers fill (about half of the ~11 MB
export), while one that built the whole body first would have finished reading long before.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from tests.live_server import LiveServer, serving, url_string
from tests.scratch import Scratch

CONDUIT = Path(sys.executable).parent / "conduit"
ARTICLES = 10_000
EXPORT = "/api/admin/export/articles"
RELEASE_SECONDS = 5.0
# The export statement as pg_stat_activity shows it while a server runs it.
EXPORT_SQL_PREFIX = "SELECT articles.slug, articles.title"
SMALL_RECEIVE_BUFFER = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)]


@pytest.fixture(scope="module")
async def seeded_url(scratch_databases: Scratch) -> AsyncIterator[URL]:
    async with scratch_databases.url("postgresql", prefix="conduit_export_live") as url:
        seeded = subprocess.run(  # noqa: ASYNC221 - setup, nothing else runs meanwhile
            [str(CONDUIT), "db", "seed", "--users", "200", "--articles", str(ARTICLES)],
            env={**os.environ, "DATABASE_URL": url_string(url)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert seeded.returncode == 0, seeded.stderr
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE users SET role = 'admin' WHERE email = 'demo@example.com'")
                )
        finally:
            await engine.dispose()
        yield url


@pytest.fixture(scope="module")
def server(seeded_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(seeded_url, tmp_path_factory.mktemp("serve")) as live:
        yield live


@pytest.fixture(scope="module")
def admin_auth(server: LiveServer) -> dict[str, str]:
    login = {"user": {"email": "demo@example.com", "password": "password"}}
    response = httpx.post(f"{server.base_url}/api/users/login", json=login, timeout=10.0)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Token {response.json()['user']['token']}"}


class Activity:
    """What pg_stat_activity says about the server's connections to the seeded database."""

    def __init__(self, url: URL) -> None:
        self.engine = create_async_engine(url, isolation_level="AUTOCOMMIT")

    async def exporting(self) -> list[int]:
        """The server connections inside the export statement (open, not back in the pool)."""
        query = text(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state <> 'idle' AND query LIKE :prefix"
        )
        async with self.engine.connect() as conn:
            result = await conn.execute(query, {"prefix": f"{EXPORT_SQL_PREFIX}%"})
            return list(result.scalars())

    async def state_of(self, pid: int) -> str | None:
        query = text("SELECT state FROM pg_stat_activity WHERE pid = :pid")
        async with self.engine.connect() as conn:
            state: str | None = (await conn.execute(query, {"pid": pid})).scalar()
            return state

    async def wait_until_released(self) -> None:
        deadline = time.monotonic() + RELEASE_SECONDS
        while await self.exporting():
            if time.monotonic() > deadline:
                pytest.fail(f"the export still held its connection after {RELEASE_SECONDS:g} s")
            await asyncio.sleep(0.05)


@pytest.fixture
async def activity(seeded_url: URL) -> AsyncIterator[Activity]:
    watcher = Activity(seeded_url)
    yield watcher
    await watcher.engine.dispose()


def slow_reader() -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(socket_options=SMALL_RECEIVE_BUFFER)
    return httpx.AsyncClient(transport=transport, timeout=30.0)


async def test_admin_export_sends_its_first_line_while_the_server_still_reads_rows(
    server, admin_auth, activity
):
    async with (
        slow_reader() as client,
        client.stream("GET", f"{server.base_url}{EXPORT}", headers=admin_auth) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = response.aiter_lines()
        first = json.loads(await anext(lines))
        # The statement is still open on the server's connection...
        assert len(await activity.exporting()) == 1
        # ...and stays open while the client reads nothing: flow control holds the server
        # mid-stream, with rows still unread, instead of it reading the table into memory.
        await asyncio.sleep(1.0)
        assert len(await activity.exporting()) == 1
        slugs = [first["slug"]] + [json.loads(line)["slug"] async for line in lines]
    assert len(slugs) == len(set(slugs)) == ARTICLES
    await activity.wait_until_released()


async def test_admin_export_first_line_comes_long_before_the_last(server, admin_auth):
    async with httpx.AsyncClient(timeout=30.0) as client:
        started = time.perf_counter()
        async with client.stream("GET", f"{server.base_url}{EXPORT}", headers=admin_auth) as r:
            count = 0
            async for _line in r.aiter_lines():
                if count == 0:
                    first_at = time.perf_counter() - started
                count += 1
        done_at = time.perf_counter() - started
    assert count == ARTICLES
    # Ten batches of 1,000 rows: the first line follows the first batch, not the tenth.
    assert first_at < done_at / 2, (first_at, done_at)


async def test_admin_export_client_leaving_mid_stream_frees_the_servers_connection(
    server, admin_auth, activity
):
    async with (
        slow_reader() as client,
        client.stream("GET", f"{server.base_url}{EXPORT}", headers=admin_auth) as response,
    ):
        lines = response.aiter_lines()
        assert json.loads(await anext(lines))["slug"]
        [pid] = await activity.exporting()
        # Leaving the block mid-body closes the socket: the client is gone.
    await activity.wait_until_released()
    # Rolled back and returned to the pool, not terminated.
    assert await activity.state_of(pid) == "idle"
    # The server is fine, and so is its pool: another export runs to the end.
    async with httpx.AsyncClient(timeout=30.0) as client:
        response = await client.get(f"{server.base_url}{EXPORT}", headers=admin_auth)
    assert response.status_code == 200
    assert response.text.count("\n") == ARTICLES
    await activity.wait_until_released()
