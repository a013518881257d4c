"""Firing requests at once against an application whose units of work commit (PostgreSQL, MySQL).

The race tests' ``app`` and ``client`` (see ``conftest.py``) serve a database whose units of
work commit, through a real pool; requests sent with ``asyncio.gather`` each run on a pooled
connection of their own.

:func:`fire_held` makes the overlap certain rather than likely: a rival connection (outside the
application's pool) locks the row every request must write, the requests are sent, and the
lock is released only once all of them are blocked on it inside the database. They then go
through one at a time, each having read the row before the previous one committed: exactly
the interleaving in which an unguarded write applies twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import httpx
from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from conduit.db.session import Database
from conduit.domain.articles import recount
from tests.locks import wait_for_lock_waiters
from tests.pool import peak_connections

# How many identical requests a race test fires at once.
FIRED = 20


async def drift(database: Database) -> list[recount.Drift]:
    """The kept counts that differ from the rows (the same check as `db recount --check`)."""
    async with database.reader() as session:
        return await recount.drift(session)


def statuses(responses: Sequence[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


async def fire_held(
    database: Database,
    lock: Executable,
    requests: Sequence[Coroutine[Any, Any, httpx.Response]],
) -> list[httpx.Response]:
    """Send ``requests`` at once while ``lock`` (a locking read) holds their row; release it
    when every one of them waits on a lock in the database; return the responses in order."""
    rival_engine = create_async_engine(database.engine.url)
    try:
        async with rival_engine.connect() as rival, rival_engine.connect() as watcher:
            await rival.execute(lock)
            with peak_connections(database) as peak:
                pending = [asyncio.create_task(request) for request in requests]
                try:
                    await _wait_for_blocked(watcher, len(requests))
                except BaseException:
                    await rival.rollback()
                    await asyncio.gather(*pending, return_exceptions=True)
                    raise
                await rival.rollback()
                responses = await asyncio.gather(*pending)
    finally:
        await rival_engine.dispose()
    # Every request held a pooled connection at the same moment.
    assert peak[0] >= len(requests)
    return responses


async def fire_same(
    database: Database,
    lock: Executable,
    send: Callable[[], Coroutine[Any, Any, httpx.Response]],
    *,
    times: int = FIRED,
) -> list[httpx.Response]:
    """:func:`fire_held` with ``times`` identical requests, each made by ``send()``."""
    return await fire_held(database, lock, [send() for _ in range(times)])


async def _wait_for_blocked(watcher: AsyncConnection, count: int) -> None:
    await wait_for_lock_waiters(watcher, count=count)
