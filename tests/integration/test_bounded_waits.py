"""Bounded waits: a locked table, a slow statement, a full pool, a passed deadline answer 503.

The headline test runs a real ``conduit serve`` process on default settings against
PostgreSQL while another connection holds ``ACCESS EXCLUSIVE`` on ``articles``: 64 concurrent
article lists answer ``503 busy`` quickly, the tag list and readiness keep answering, and
everything succeeds again as soon as the lock is gone. The others drive the real app on a
committing pool with one wait shortened each, and SQLite with a writer holding its lock.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db.errors import QueryTimeout, SerializationFailure
from conduit.db.migrations import Migrations
from conduit.db.session import Database
from conduit.http.app import create_app
from conduit.http.errors import BUSY_RETRY_AFTER_SECONDS
from tests.conftest import MIGRATIONS_DIR, make_settings
from tests.live_server import CONDUIT, LiveServer, publish, serving, url_string
from tests.scratch import Scratch

BUSY = {"errors": {"database": ["busy"]}}
LIST_REQUESTS = 64
# The bounds the service promises on default settings, with the margins of a shared machine.
LOCKED_ANSWER_SECONDS = 3.0
UNRELATED_ANSWER_SECONDS = 1.0
RECOVERY_SECONDS = 1.0
LOCK_HELD_SECONDS = 4.0


def assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == BUSY
    assert response.headers["retry-after"] == str(BUSY_RETRY_AFTER_SECONDS)


@pytest.fixture(scope="module")
async def waits_url(scratch_databases: Scratch) -> AsyncIterator[URL]:
    async with scratch_databases.url("postgresql", prefix="conduit_waits") as url:
        yield url


@asynccontextmanager
async def locked(url: URL, table: str = "articles") -> AsyncIterator[None]:
    """``table`` locked ``ACCESS EXCLUSIVE`` by a connection of its own for the block."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            try:
                yield
            finally:
                await conn.rollback()
    finally:
        await engine.dispose()


# --- a real server on default settings ----------------------------------------------------


@pytest.fixture(scope="module")
def server(waits_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(waits_url, tmp_path_factory.mktemp("serve-waits")) as live:
        yield live


@dataclass
class Timed:
    response: httpx.Response
    started: float
    finished: float

    @property
    def seconds(self) -> float:
        return self.finished - self.started


async def timed_get(client: httpx.AsyncClient, path: str) -> Timed:
    started = time.monotonic()
    response = await client.get(path)
    return Timed(response, started, time.monotonic())


async def poll(client: httpx.AsyncClient, path: str, until: asyncio.Event) -> list[Timed]:
    """GET ``path`` one request after another until ``until`` is set."""
    answers: list[Timed] = []
    while not until.is_set():
        answers.append(await timed_get(client, path))
        await asyncio.sleep(0.05)
    return answers


async def test_a_locked_table_gets_fast_503s_while_the_rest_keeps_answering(
    server: LiveServer, waits_url: URL
) -> None:
    limits = httpx.Limits(max_connections=LIST_REQUESTS + 8)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client:
        await publish(client, username="locker", tag="locks")

        stop_polling = asyncio.Event()
        async with locked(waits_url):
            lock_taken = time.monotonic()
            pollers = [
                asyncio.create_task(poll(client, path, stop_polling))
                for path in ("/api/tags", "/health/ready")
            ]
            lists = await asyncio.gather(
                *(timed_get(client, "/api/articles") for _ in range(LIST_REQUESTS))
            )
            await asyncio.sleep(LOCK_HELD_SECONDS - (time.monotonic() - lock_taken))
            stop_polling.set()
            tags, ready = await asyncio.gather(*pollers)
        released = time.monotonic()
        first = await timed_get(client, "/api/articles")
        after = await asyncio.gather(
            *(timed_get(client, "/api/articles") for _ in range(LIST_REQUESTS)),
            timed_get(client, "/api/tags"),
            timed_get(client, "/health/ready"),
        )

    for answer in lists:
        assert_busy(answer.response)
    slowest_list = max(answer.seconds for answer in lists)
    assert slowest_list < LOCKED_ANSWER_SECONDS

    # Both kept answering while the lock was held, each within a second.
    assert len(tags) > 5
    assert len(ready) > 5
    assert all(answer.response.status_code == 200 for answer in tags)
    assert all(answer.response.json() == {"tags": ["locks"]} for answer in tags)
    assert all(answer.response.status_code == 200 for answer in ready)
    slowest_other = max(answer.seconds for answer in [*tags, *ready])
    assert slowest_other < UNRELATED_ANSWER_SECONDS

    # Nothing lingers once the lock is gone: the first request succeeds at once, and so does
    # every one of a full burst after it.
    assert first.response.status_code == 200
    assert first.response.json()["articlesCount"] == 1
    assert first.finished - released < RECOVERY_SECONDS
    assert all(answer.response.status_code == 200 for answer in after), [
        answer.response.text for answer in after if answer.response.status_code != 200
    ]
    print(  # the figures, for the record (pytest -s)
        f"\nlocked: {LIST_REQUESTS} lists answered 503 within {slowest_list:.3f} s;"
        f" tags/ready within {slowest_other:.3f} s ({len(tags)}+{len(ready)} requests);"
        f" first success {first.finished - released:.3f} s after the release, a burst of"
        f" {len(after)} all 200 within {max(a.finished for a in after) - released:.3f} s"
    )


# --- one wait at a time, on the real app and a committing pool ---------------------------


@asynccontextmanager
async def app_client(url: URL, **overrides: object) -> AsyncIterator[tuple[FastAPI, Database]]:
    settings = make_settings(url, **overrides)
    database = Database.from_config(settings.database)
    try:
        yield create_app(settings, database=database), database
    finally:
        await database.dispose()


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://conduit.test", timeout=30
    )


async def test_a_statement_past_the_statement_timeout_is_503(waits_url: URL) -> None:
    # No lock timeout: the statement waits on the lock until its own time runs out.
    async with (
        app_client(waits_url, db_statement_timeout_ms=300, db_lock_timeout_ms=0) as (app, _),
        client_of(app) as client,
    ):
        async with locked(waits_url):
            started = time.monotonic()
            response = await client.get("/api/articles")
            elapsed = time.monotonic() - started
        assert_busy(response)
        assert 0.3 <= elapsed < 2.0
        assert (await client.get("/api/articles")).status_code == 200


async def test_the_statement_timeout_cancels_a_slow_statement_in_the_data_layer(
    waits_url: URL,
) -> None:
    settings = make_settings(waits_url, db_statement_timeout_ms=200)
    database = Database.from_config(settings.database)
    try:
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            async with database.reader() as session:
                await session.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 2.0
    finally:
        await database.dispose()


async def test_a_lock_wait_past_the_lock_timeout_is_503(waits_url: URL) -> None:
    async with (
        app_client(waits_url, db_lock_timeout_ms=300) as (app, _),
        client_of(app) as client,
    ):
        async with locked(waits_url, "tags"):
            started = time.monotonic()
            response = await client.get("/api/tags")
            elapsed = time.monotonic() - started
        assert_busy(response)
        assert 0.3 <= elapsed < 2.0


async def test_a_pool_checkout_past_the_pool_timeout_is_503_not_a_hang(waits_url: URL) -> None:
    overrides = {"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.3}
    async with app_client(waits_url, **overrides) as (app, database), client_of(app) as client:
        async with database.engine.connect():  # holds the pool's only connection
            started = time.monotonic()
            response = await client.get("/api/tags")
            elapsed = time.monotonic() - started
            # Readiness connects apart from the pool: it answers while the pool is empty.
            ready_started = time.monotonic()
            ready = await client.get("/health/ready")
            ready_elapsed = time.monotonic() - ready_started
        assert_busy(response)
        assert 0.3 <= elapsed < 2.0
        assert ready.status_code == 200
        assert ready_elapsed < UNRELATED_ANSWER_SECONDS
        assert (await client.get("/api/tags")).status_code == 200


async def test_the_request_deadline_answers_503_and_leaves_the_pool_usable(
    waits_url: URL,
) -> None:
    overrides = {"request_timeout_s": 0.5, "db_lock_timeout_ms": 10_000}
    async with app_client(waits_url, **overrides) as (app, _), client_of(app) as client:
        async with locked(waits_url):
            started = time.monotonic()
            responses = await asyncio.gather(*(client.get("/api/articles") for _ in range(5)))
            elapsed = time.monotonic() - started
        for response in responses:
            assert_busy(response)
        assert elapsed < 2.0
        # The cancelled statements left no connection in a broken state.
        again = await asyncio.gather(*(client.get("/api/articles") for _ in range(5)))
        assert [r.status_code for r in again] == [200] * 5


async def test_a_route_stalled_on_a_lock_keeps_to_its_share_and_sheds_its_queue(
    waits_url: URL,
) -> None:
    overrides = {"db_route_connections": 2, "db_lock_timeout_ms": 500}
    async with (
        app_client(waits_url, **overrides) as (app, _),
        client_of(app) as client,
        locked(waits_url),
    ):
        started = time.monotonic()
        lists = asyncio.gather(*(timed_get(client, "/api/articles") for _ in range(6)))
        # Two hold the route's share, waiting on the lock; four queue behind them. The rest
        # of the pool stays free for other routes.
        await asyncio.sleep(0.1)
        tags = await timed_get(client, "/api/tags")
        answers = await lists
    for answer in answers:
        assert_busy(answer.response)
    # The queued four are answered when the first holder times out, not 0.5 s after that.
    assert max(answer.finished for answer in answers) - started < 0.5 + 0.4
    assert tags.response.status_code == 200
    assert tags.seconds < UNRELATED_ANSWER_SECONDS


async def test_a_command_that_meets_a_lock_fails_with_a_hint_instead_of_waiting(
    waits_url: URL, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": url_string(waits_url),
        "DB_LOCK_TIMEOUT_MS": "300",
    }
    async with locked(waits_url):
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            str(CONDUIT), "db", "recount",
            cwd=tmp_path, env=env, stdout=PIPE, stderr=PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        elapsed = time.monotonic() - started
    assert process.returncode == 1
    line = stderr.decode()
    assert line.startswith("error: ")
    assert "the database is busy" in line
    assert "DB_LOCK_TIMEOUT_MS" in line
    assert elapsed < 10  # the process start, then 0.3 s on the lock


# --- SQLite: a writer holding the database lock ------------------------------------------


async def test_a_busy_sqlite_database_is_503_after_its_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    await Migrations(make_settings(url).database, script_location=MIGRATIONS_DIR).upgrade()
    settings = make_settings(url, db_lock_timeout_ms=500)
    database = Database.from_config(settings.database)
    holder = sqlite3.connect(path, isolation_level=None)
    signup = {"user": {"username": "u1", "email": "u1@example.com", "password": "pw1234567"}}
    try:
        async with client_of(create_app(settings, database=database)) as client:
            # A running service: its first connection has switched the database to WAL.
            assert (await client.get("/api/tags")).status_code == 200
            holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long write would hold it
            # A write waits out the busy timeout for the lock, then gives up.
            started = time.monotonic()
            with pytest.raises(SerializationFailure):
                async with database.unit_of_work() as session:
                    await session.execute(text("DELETE FROM tags"))
            assert 0.45 <= time.monotonic() - started < 2.0
            # Through the API: the same 503 as a PostgreSQL lock timeout.
            started = time.monotonic()
            response = await client.post("/api/users", json=signup)
            elapsed = time.monotonic() - started
            holder.execute("ROLLBACK")
            assert_busy(response)
            assert elapsed < 2.5
            retried = await client.post("/api/users", json=signup)
            assert retried.status_code == 201, retried.text
    finally:
        holder.close()
        await database.dispose()
