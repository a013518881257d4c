"""Run a unit of work again when the database says that running it again may succeed.

A serialization failure or a deadlock (:class:`~conduit.db.errors.Retryable`) aborts the whole
transaction, so a retry has to replay everything from the first statement: the work is a
callable that receives a fresh session from a fresh unit of work on every attempt. The delay
between attempts is short, grows, and is jittered, so that the transactions that collided do not
collide again in lockstep.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.errors import Retryable
from conduit.db.session import Database

T = TypeVar("T")

logger = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3
DEFAULT_BASE_DELAY = 0.02


async def run_retrying(
    database: Database,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
) -> T:
    """``work`` in a unit of work of its own, committed; run again on a retryable failure.

    At most ``attempts`` runs; the last failure is raised as it is. Any other error is raised at
    once. Before attempt *n* + 1 it sleeps a random time up to ``base_delay * 2 ** (n - 1)``.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            # The commit happens on leaving the block and is inside the try: a serialization
            # failure reported at commit is retried like one reported by a statement.
            async with database.unit_of_work() as session:
                return await work(session)
        except Retryable as exc:
            if attempt == attempts:
                logger.warning("giving up after %d attempts: %s", attempts, exc.message)
                raise
            delay = random.uniform(0, base_delay * 2 ** (attempt - 1))  # noqa: S311 - jitter only
            logger.info("attempt %d of %d failed (%s); retrying", attempt, attempts, exc.message)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
