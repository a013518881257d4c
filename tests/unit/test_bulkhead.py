"""The pool's shares: a bound per key, a bounded queue, and a queue shed by a busy holder."""

from __future__ import annotations

import asyncio
import time

import pytest

from conduit.db.bulkhead import Bulkhead
from conduit.db.errors import LockTimeout, PoolTimeout, SerializationFailure


async def hold(bulkhead: Bulkhead, key: str, seconds: float) -> float:
    """Hold a slot of ``key`` for ``seconds``; the time it took to get the slot."""
    started = time.monotonic()
    async with bulkhead.slot(key):
        waited = time.monotonic() - started
        await asyncio.sleep(seconds)
    return waited


async def fail_with(bulkhead: Bulkhead, key: str, seconds: float, error: Exception) -> None:
    async with bulkhead.slot(key):
        await asyncio.sleep(seconds)
        raise error


async def test_no_more_than_the_limit_hold_a_key_at_once() -> None:
    bulkhead = Bulkhead(limit=3, max_wait_s=5.0)
    inside = peak = 0

    async def work() -> None:
        nonlocal inside, peak
        async with bulkhead.slot("k"):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(work() for _ in range(30)))
    assert peak == 3


async def test_a_queue_waits_its_turn_within_the_maximum_wait() -> None:
    bulkhead = Bulkhead(limit=1, max_wait_s=5.0)
    waits = await asyncio.gather(*(hold(bulkhead, "k", 0.05) for _ in range(8)))
    assert max(waits) > 0.3  # the last waited for the seven before it


async def test_a_queue_that_does_not_move_gives_up_at_the_maximum_wait() -> None:
    bulkhead = Bulkhead(limit=1, max_wait_s=0.2)
    holder = asyncio.create_task(hold(bulkhead, "k", 1.0))
    await asyncio.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(PoolTimeout, match="none freed up"):
        await hold(bulkhead, "k", 0)
    assert 0.15 < time.monotonic() - started < 0.6
    await holder


async def test_a_holder_that_times_out_sheds_the_queue_before_handing_on_its_slot() -> None:
    bulkhead = Bulkhead(limit=2, max_wait_s=5.0)
    holders = [
        asyncio.create_task(fail_with(bulkhead, "k", 0.2, LockTimeout("lock"))) for _ in range(2)
    ]
    await asyncio.sleep(0.01)
    started = time.monotonic()
    queued = await asyncio.gather(
        *(hold(bulkhead, "k", 0) for _ in range(5)), return_exceptions=True
    )
    elapsed = time.monotonic() - started
    # Answered when the first holder timed out, not after waiting out the lock themselves.
    assert all(isinstance(result, PoolTimeout) for result in queued), queued
    assert 0.15 < elapsed < 0.5
    for holder in holders:
        with pytest.raises(LockTimeout):
            await holder
    # Nothing leaked: both slots are free at once again.
    waits = await asyncio.gather(hold(bulkhead, "k", 0.05), hold(bulkhead, "k", 0.05))
    assert max(waits) < 0.03


async def test_other_failures_hand_the_slot_on_to_the_queue() -> None:
    bulkhead = Bulkhead(limit=1, max_wait_s=5.0)
    failing = asyncio.create_task(fail_with(bulkhead, "k", 0.05, SerializationFailure("conflict")))
    await asyncio.sleep(0.01)
    assert await hold(bulkhead, "k", 0) < 0.2
    with pytest.raises(SerializationFailure):
        await failing


async def test_one_busy_key_leaves_the_others_free() -> None:
    bulkhead = Bulkhead(limit=1, max_wait_s=5.0)
    stuck = asyncio.create_task(hold(bulkhead, "stuck", 0.5))
    await asyncio.sleep(0.01)
    assert await hold(bulkhead, "other", 0) < 0.05
    await stuck


async def test_a_waiter_cancelled_while_queued_does_not_leak_its_slot() -> None:
    bulkhead = Bulkhead(limit=1, max_wait_s=5.0)
    holder = asyncio.create_task(hold(bulkhead, "k", 0.1))
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(hold(bulkhead, "k", 0))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await holder
    assert await hold(bulkhead, "k", 0) < 0.05
