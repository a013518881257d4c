"""Shares of the connection pool, so that one stalled kind of work cannot take all of it.

When a table is locked, every request that reads it holds its pooled connection while it
waits for the lock. Without a bound, those requests take the whole pool and everything else
(the tag list, a sign-in) queues behind them. A :class:`Bulkhead` lets each kind of work (a
key: the application uses one per route) hold at most ``limit`` units of work at once; the
rest of the pool stays free for the other kinds.

Work beyond its share queues for a slot, at most ``max_wait_s``. When a holder fails with
:class:`~conduit.db.errors.Busy` (it waited out a lock or a statement timeout), the work
queued behind it would only take its slot to wait out the same lock: the queue is answered
:class:`~conduit.db.errors.PoolTimeout` at once, before the slot is handed on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Literal

from conduit.db.errors import Busy, PoolTimeout

_Acquiring = asyncio.Task[Literal[True]]  # Semaphore.acquire, waited for as a task


class _Share:
    __slots__ = ("queued", "slots")

    def __init__(self, limit: int) -> None:
        self.slots = asyncio.Semaphore(limit)
        # The queued waiters' acquisitions, each mapped to whether it was shed.
        self.queued: dict[_Acquiring, bool] = {}


class Bulkhead:
    """At most ``limit`` concurrent holders per key; a busy holder sheds the key's queue."""

    def __init__(self, *, limit: int, max_wait_s: float) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.max_wait_s = max_wait_s
        self._shares: dict[str, _Share] = {}

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold one of ``key``'s slots for the block; :class:`PoolTimeout` if none frees up."""
        share = self._shares.get(key)
        if share is None:
            share = self._shares[key] = _Share(self.limit)
        await self._acquire(key, share)
        try:
            yield
        except Busy:
            self._shed(share)
            raise
        finally:
            share.slots.release()

    async def _acquire(self, key: str, share: _Share) -> None:
        if not share.slots.locked():
            await share.slots.acquire()  # a free slot: returns without waiting
            return
        acquiring = asyncio.ensure_future(share.slots.acquire())
        share.queued[acquiring] = False
        try:
            done, _ = await asyncio.wait({acquiring}, timeout=self.max_wait_s)
        except BaseException:
            await self._abandon(share, acquiring)
            raise
        shed = share.queued.pop(acquiring)
        if done and not acquiring.cancelled():
            return
        await self._abandon(share, acquiring)
        reason = "its work ahead timed out" if shed else f"none freed up in {self.max_wait_s:g} s"
        raise PoolTimeout(f"{key}: all {self.limit} of its connections are busy ({reason})")

    @staticmethod
    def _shed(share: _Share) -> None:
        for acquiring in share.queued:
            share.queued[acquiring] = True
            acquiring.cancel()

    @staticmethod
    async def _abandon(share: _Share, acquiring: _Acquiring) -> None:
        share.queued.pop(acquiring, None)
        if acquiring.done() and not acquiring.cancelled():
            share.slots.release()  # granted just as its waiter gave up
            return
        acquiring.cancel()
        with suppress(asyncio.CancelledError):
            await acquiring
