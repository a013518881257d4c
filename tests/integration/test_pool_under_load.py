"""The default pool holds its connections under sustained load.

A real ``conduit serve`` process on default settings against PostgreSQL: once warm, rounds of
32 concurrent requests are served on the connections already open, none opened or closed (each
backend is named by its pid and start time in ``pg_stat_activity``). Opening a connection costs
a TCP handshake, an SSL request and authentication; a pool that opens one per request under load
spends its CPU there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db.config import DatabaseConfig
from tests.conftest import postgres_direct_url
from tests.live_server import LiveServer, publish, serving
from tests.scratch import Scratch

CONCURRENT = 32
# How long the warm-up waits for the pool to fill (a loaded machine forks backends slowly).
FILL_SECONDS = 5.0
LOADED_ROUNDS = 10
Backends = set[tuple[int, str]]


@pytest.fixture(scope="module")
async def pool_url(scratch_databases: Scratch) -> AsyncIterator[URL]:
    if postgres_direct_url() is not None:
        pytest.skip("behind PgBouncer the server processes are PgBouncer's, not the pool's")
    async with scratch_databases.url("postgresql", prefix="conduit_pool") as url:
        yield url


@pytest.fixture(scope="module")
def server(pool_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(pool_url, tmp_path_factory.mktemp("serve-pool")) as live:
        yield live


async def conduit_backends(url: URL) -> Backends:
    """The server processes of the application's connections to ``url``'s database."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pid, backend_start::text FROM pg_stat_activity"
                    " WHERE datname = :db AND application_name = 'conduit'"
                ),
                {"db": url.database},
            )
            return {(int(pid), str(started)) for pid, started in rows}
    finally:
        await engine.dispose()


async def backends_reaching(url: URL, count: int) -> Backends:
    """The application's backends once there are ``count`` of them (or after FILL_SECONDS)."""
    deadline = time.monotonic() + FILL_SECONDS
    while True:
        backends = await conduit_backends(url)
        if len(backends) >= count or time.monotonic() > deadline:
            return backends
        await asyncio.sleep(0.02)


@asynccontextmanager
async def locked(url: URL) -> AsyncIterator[None]:
    """The tables the reads read, locked ``ACCESS EXCLUSIVE`` by a connection of its own."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("LOCK TABLE articles, tags, users IN ACCESS EXCLUSIVE MODE"))
            try:
                yield
            finally:
                await conn.rollback()
    finally:
        await engine.dispose()


async def concurrent_reads(client: httpx.AsyncClient, slug: str) -> list[httpx.Response]:
    """One round: ``CONCURRENT`` reads at once, on the paths a reader's page load sends."""
    paths = ["/api/articles", f"/api/articles/{slug}", "/api/tags", "/api/profiles/pooler"]
    return await asyncio.gather(*(client.get(paths[i % len(paths)]) for i in range(CONCURRENT)))


async def served(client: httpx.AsyncClient, slug: str) -> None:
    """One round of :func:`concurrent_reads`, every one answered 200."""
    responses = await concurrent_reads(client, slug)
    assert all(response.status_code == 200 for response in responses), [
        response.text for response in responses if response.status_code != 200
    ]


async def test_a_warm_pool_serves_32_concurrent_requests_without_opening_a_connection(
    server: LiveServer, pool_url: URL
) -> None:
    pool_size = DatabaseConfig(url=pool_url).pool_size
    limits = httpx.Limits(max_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client:
        slug = await publish(client, username="pooler", tag="pool")

        # Warm-up: with the tables locked every read holds its connection while it waits, so
        # the pool opens all it may; the lock goes as soon as the server shows them all. (Reads
        # that outwait DB_LOCK_TIMEOUT or DB_POOL_TIMEOUT meanwhile answer 503, and their
        # connections go back to the pool all the same.)
        async with locked(pool_url):
            reads = asyncio.create_task(concurrent_reads(client, slug))
            warm = await backends_reaching(pool_url, pool_size)
        await reads
        assert len(warm) == pool_size, f"{len(warm)} connections after warm-up"

        for _ in range(LOADED_ROUNDS):
            await served(client, slug)
        loaded = await conduit_backends(pool_url)

    # The same server processes: not one connection opened, and none closed.
    opened, closed = loaded - warm, warm - loaded
    assert (len(opened), len(closed)) == (0, 0), f"opened {len(opened)}, closed {len(closed)}"
    print(f"\n{pool_size} connections held through {LOADED_ROUNDS} rounds of {CONCURRENT}")
