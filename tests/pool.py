"""Connection-pool observations for concurrency tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from conduit.db.session import Database


@contextmanager
def peak_connections(database: Database) -> Iterator[list[int]]:
    """Track the most connections checked out at once: proof that the requests overlapped."""
    pool = database.engine.sync_engine.pool
    assert isinstance(pool, QueuePool), "only a pool that keeps connections counts them"
    peak = [0]

    def on_checkout(*_args: object) -> None:
        peak[0] = max(peak[0], pool.checkedout())

    event.listen(pool, "checkout", on_checkout)
    try:
        yield peak
    finally:
        event.remove(pool, "checkout", on_checkout)
