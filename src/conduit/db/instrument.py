"""Per-unit-of-work statement accounting.

An engine-level ``before_cursor_execute`` hook counts every statement (ORM flushes included)
into the :class:`StatementStats` of every enclosing :func:`track` block. The tests'
``assert_max_statements(n)`` is built on it. A statement counts when it is sent, so
one that fails counts too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(slots=True)
class StatementStats:
    """What one unit of work sent to the database."""

    count: int = 0
    seconds: float = 0.0
    statements: list[str] = field(default_factory=list)


_current: ContextVar[tuple[StatementStats, ...]] = ContextVar("conduit_statement_stats", default=())
_START_KEY = "conduit_statement_started"
# Transaction control is not counted: the tests wrap every unit of work in savepoints, and in
# production BEGIN/COMMIT do not pass through the cursor, so counting them would make the
# tests' numbers differ from production's.
_TRANSACTION_CONTROL = re.compile(
    r"^\s*(BEGIN|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE
)


@contextmanager
def track() -> Iterator[StatementStats]:
    """Count the statements run inside the block (nested blocks count into every level)."""
    stats = StatementStats()
    token = _current.set((*_current.get(), stats))
    try:
        yield stats
    finally:
        _current.reset(token)


def install(engine: AsyncEngine) -> None:
    """Hook the accounting into ``engine`` (idempotent)."""
    sync_engine = engine.sync_engine
    if event.contains(sync_engine, "before_cursor_execute", _before):
        return
    event.listen(sync_engine, "before_cursor_execute", _before)
    event.listen(sync_engine, "after_cursor_execute", _after)


def _before(
    conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    trackers = _current.get()
    if not trackers or _TRANSACTION_CONTROL.match(statement):
        conn.info.pop(_START_KEY, None)
        return
    for stats in trackers:
        stats.count += 1
        stats.statements.append(statement)
    # One slot, not a stack: a connection runs one statement at a time, and a statement that
    # fails never reaches _after, so a stack would grow by one entry per failure.
    conn.info[_START_KEY] = time.perf_counter()


def _after(
    conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    started = conn.info.pop(_START_KEY, None)
    if started is None:
        return
    elapsed = time.perf_counter() - started
    for stats in _current.get():
        stats.seconds += elapsed
