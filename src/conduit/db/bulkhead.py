"""Shares of the connection pool, so that one stalled kind of work cannot take all of it.

When a table is locked, every request that reads it holds its pooled connection while it
waits for the lock. Without a bound, those requests take the whole pool and everything else
(the tag list, a sign-in) queues behind them. A :class:`Bulkhead` gives each kind of work (a
key: the application uses one per route) at most ``limit`` units of work at once; the rest of
the pool stays free for other kinds. Work beyond its share waits for a slot at most ``wait_s``
seconds and then fails with :class:`~conduit.db.errors.PoolTimeout`: a short queue, because
a kind whose share is full and not moving is stalled, and its callers are better answered
"busy" at once than after the lock wait of the work ahead of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from conduit.db.errors import PoolTimeout


class Bulkhead:
    """At most ``limit`` concurrent holders per key; a holder-to-be waits ``wait_s`` at most."""

    def __init__(self, *, limit: int, wait_s: float) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.wait_s = wait_s
        self._slots: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold one of ``key``'s slots for the block; :class:`PoolTimeout` if none frees up."""
        semaphore = self._slots.get(key)
        if semaphore is None:
            semaphore = self._slots[key] = asyncio.Semaphore(self.limit)
        try:
            async with asyncio.timeout(self.wait_s):
                await semaphore.acquire()
        except TimeoutError:
            message = f"its {self.limit} connections stayed busy for {self.wait_s:g} s"
            raise PoolTimeout(f"{key}: {message}") from None
        try:
            yield
        finally:
            semaphore.release()
