"""Statement accounting, the slow-statement log and the N+1 detector.

An engine-level ``before_cursor_execute`` hook counts every statement (ORM flushes included)
into the :class:`StatementStats` of every enclosing :func:`track` block; the tests'
``assert_max_statements(n)`` and the ``Server-Timing`` header are built on it. A statement
counts when it is sent, so one that fails counts too.

Per engine (:func:`install` with an :class:`InstrumentConfig`):

- statements slower than ``slow_query_ms`` are logged on ``conduit.db.slow`` with their
  normalised SQL and never their parameter values, which may hold secrets;
- in a block opened with ``track(detect_repeats=True)`` (every unit of work), the same statement
  sent more than ``n1_threshold`` times is an N+1: a warning names the statement and the call
  site, and with ``n1_strict`` (the tests) the block raises :class:`NPlusOneDetected` at its end.
  ``executemany`` batches and blocks under :func:`allow_repeats` (bulk loads) are exempt.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import greenlet
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.db.querylog import normalise_sql

slow_log = logging.getLogger("conduit.db.slow")
n1_log = logging.getLogger("conduit.db.n_plus_one")


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentConfig:
    slow_query_ms: float | None = None
    n1_threshold: int | None = None
    n1_strict: bool = False


class NPlusOneDetected(RuntimeError):
    """A unit of work repeated one statement past the threshold (raised in strict mode)."""


@dataclass(slots=True)
class Repeat:
    """One statement a unit of work sent too often."""

    statement: str
    count: int
    call_site: str
    strict: bool


@dataclass(slots=True)
class StatementStats:
    """What one block of work sent to the database."""

    count: int = 0
    seconds: float = 0.0
    statements: list[str] = field(default_factory=list)
    detect_repeats: bool = False
    seen: Counter[str] = field(default_factory=Counter)
    repeats: dict[str, Repeat] = field(default_factory=dict)


_current: ContextVar[tuple[StatementStats, ...]] = ContextVar("conduit_statement_stats", default=())
_repeats_allowed: ContextVar[bool] = ContextVar("conduit_repeats_allowed", default=False)
_hooks: weakref.WeakKeyDictionary[Engine, _Hooks] = weakref.WeakKeyDictionary()
_START_KEY = "conduit_statement_started"
# Transaction control is not counted: the tests wrap every unit of work in savepoints, and in
# production BEGIN/COMMIT do not pass through the cursor, so counting them would make the
# tests' numbers differ from production's.
_TRANSACTION_CONTROL = re.compile(
    r"^\s*(BEGIN|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE
)
_LIBRARY_PATHS = ("site-packages", "/lib/python3", "conduit/db/")


@contextmanager
def track(*, detect_repeats: bool = False) -> Iterator[StatementStats]:
    """Count the statements run inside the block (nested blocks count into every level)."""
    stats = StatementStats(detect_repeats=detect_repeats)
    token = _current.set((*_current.get(), stats))
    try:
        yield stats
    finally:
        _current.reset(token)
    strict = [repeat for repeat in stats.repeats.values() if repeat.strict]
    if strict:
        raise NPlusOneDetected("; ".join(_describe(repeat) for repeat in strict))


@contextmanager
def allow_repeats() -> Iterator[None]:
    """Exempt the block from N+1 detection: for bulk work that repeats statements on purpose."""
    token = _repeats_allowed.set(True)
    try:
        yield
    finally:
        _repeats_allowed.reset(token)


def install(engine: AsyncEngine | Engine, config: InstrumentConfig | None = None) -> None:
    """Hook the accounting into ``engine`` (idempotent); a given ``config`` replaces the last."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    hooks = _hooks.get(sync_engine)
    if hooks is None:
        hooks = _hooks[sync_engine] = _Hooks(config or InstrumentConfig())
        event.listen(sync_engine, "before_cursor_execute", hooks.before)
        event.listen(sync_engine, "after_cursor_execute", hooks.after)
    elif config is not None:
        hooks.config = config


class _Hooks:
    """One engine's listeners and its config.

    The config travels with the listeners rather than being looked up by ``conn.engine``: an
    engine made by ``execution_options()`` (the autocommit reader, say) is another object that
    runs its parent's listeners, so it gets its parent's config too.
    """

    def __init__(self, config: InstrumentConfig) -> None:
        self.config = config

    def before(
        self,
        conn: Connection,
        _cursor: Any,
        statement: str,
        _params: Any,
        _context: Any,
        many: bool,
    ) -> None:
        if _TRANSACTION_CONTROL.match(statement):
            conn.info.pop(_START_KEY, None)
            return
        config = self.config
        for stats in _current.get():
            stats.count += 1
            stats.statements.append(statement)
            if stats.detect_repeats and config.n1_threshold and not many:
                _count_repeat(stats, statement, config)
        # One slot, not a stack: a connection runs one statement at a time, and a statement
        # that fails never reaches after(), so a stack would grow by one entry per failure.
        conn.info[_START_KEY] = time.perf_counter()

    def after(
        self,
        conn: Connection,
        _cursor: Any,
        statement: str,
        _params: Any,
        _context: Any,
        _many: bool,
    ) -> None:
        started = conn.info.pop(_START_KEY, None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        for stats in _current.get():
            stats.seconds += elapsed
        slow_query_ms = self.config.slow_query_ms
        if slow_query_ms is not None and elapsed * 1000 >= slow_query_ms:
            slow_log.warning(
                "slow statement (%.1f ms): %s", elapsed * 1000, normalise_sql(statement)
            )


def _count_repeat(stats: StatementStats, statement: str, config: InstrumentConfig) -> None:
    if _repeats_allowed.get():
        return
    stats.seen[statement] += 1
    seen = stats.seen[statement]
    threshold = config.n1_threshold or 0
    if seen <= threshold:
        return
    repeat = stats.repeats.get(statement)
    if repeat is not None:
        repeat.count = seen
        return
    repeat = Repeat(
        statement=normalise_sql(statement),
        count=seen,
        call_site=_call_site(),
        strict=config.n1_strict,
    )
    stats.repeats[statement] = repeat
    n1_log.warning("possible N+1: %s", _describe(repeat))


def _describe(repeat: Repeat) -> str:
    return (
        f"{repeat.statement!r} sent {repeat.count}+ times in one unit of work,"
        f" at {repeat.call_site}"
    )


def _call_site() -> str:
    """The first frame outside libraries and ``conduit.db``, across greenlet boundaries.

    Async SQLAlchemy runs the driver call in a child greenlet; the code that awaited it lives
    in the parent's frames.
    """
    frame: FrameType | None = sys._getframe(1)
    current: greenlet.greenlet | None = greenlet.getcurrent()
    while True:
        while frame is not None:
            filename = frame.f_code.co_filename
            if not any(part in filename for part in _LIBRARY_PATHS):
                return f"{filename}:{frame.f_lineno} in {frame.f_code.co_name}"
            frame = frame.f_back
        current = current.parent if current is not None else None
        if current is None:
            return "<unknown>"
        frame = current.gr_frame
