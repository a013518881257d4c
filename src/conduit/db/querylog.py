"""The query log: every statement an engine runs, with its bound parameters, as JSON lines.

The service writes it (the app installs :class:`QueryLog` on its engines when ``QUERY_LOG`` is
set); ``conduit db analyze --query-log PATH`` reads it back (:mod:`conduit.tooling.querylog`) and
re-plans the statements with ``EXPLAIN`` (and with hypothetical indexes) to advise on indexes from
the queries the service really runs. This module is the running service's half: the hook that
writes, and the line format both ways (:func:`encode_params`, :func:`decode_params`), so the
writer and the reader cannot disagree; :func:`normalise_sql` also names statements in the slow
log and the N+1 detector (``instrument.py``).

The log is opt-in and meant for a bounded diagnostic window: **parameter values are written as
they were bound, so the file can hold secrets** (password hashes, e-mail addresses, tokens).
It is created readable by its owner only (mode 0600); keep it off shared storage and delete it
once analysed. Statements are appended from the engine's ``after_cursor_execute`` hook, one
``write()`` per line on a file opened with ``O_APPEND``, so several processes can share a file.

One line::

    {"at": "2026-01-01T12:00:00.000+00:00", "ms": 1.52, "dialect": "postgresql",
     "driver": "asyncpg", "paramstyle": "numeric_dollar",
     "sql": "SELECT ... WHERE users.id = $1::UUID", "params": [{"$t": "uuid", "v": "..."}]}

Values JSON has no type for (UUID, datetime, Decimal, bytes, ...) are tagged ``{"$t", "v"}`` so
the reader can rebuild the very objects the driver was given. An ``executemany`` is logged once
with its first parameter set and ``"many": <number of sets>``.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

# A statement with more parameters than this (a huge bulk insert) is logged without them: the
# line would be enormous, and a bulk insert is not what index advice is about.
MAX_PARAMS = 1000
# Set on the statement's execution context, so a failed statement leaves nothing behind.
_STARTED = "_conduit_querylog_started"
_TRANSACTION_CONTROL = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE\b|START TRANSACTION)", re.IGNORECASE
)


class Unreplayable(ValueError):
    """A logged parameter cannot be rebuilt into the value the driver was given."""


class QueryLog:
    """Appends the statements of the engines it is installed on to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._lock = threading.Lock()

    def install(self, engine: AsyncEngine | Engine) -> None:
        """Start logging ``engine``'s statements (idempotent)."""
        target = _sync(engine)
        if event.contains(target, "after_cursor_execute", self._after):
            return
        event.listen(target, "before_cursor_execute", self._before)
        event.listen(target, "after_cursor_execute", self._after)

    def remove(self, engine: AsyncEngine | Engine) -> None:
        target = _sync(engine)
        if event.contains(target, "after_cursor_execute", self._after):
            event.remove(target, "before_cursor_execute", self._before)
            event.remove(target, "after_cursor_execute", self._after)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def write(
        self,
        *,
        sql: str,
        params: Any,
        dialect: str,
        driver: str,
        paramstyle: str,
        ms: float,
        many: bool = False,
    ) -> None:
        entry: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "ms": round(ms, 3),
            "dialect": dialect,
            "driver": driver,
            "paramstyle": paramstyle,
            "sql": sql,
        }
        if many and isinstance(params, Sequence) and not isinstance(params, str | bytes):
            entry["many"] = len(params)
            params = params[0] if params else None
        entry["params"] = None if _too_many(params) else encode_params(params)
        line = (json.dumps(entry, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            view = memoryview(line)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]

    def _before(
        self, _conn: Connection, _cursor: Any, _statement: str, _params: Any, ctx: Any, _many: bool
    ) -> None:
        if ctx is not None:
            setattr(ctx, _STARTED, time.perf_counter())

    def _after(
        self, conn: Connection, _cursor: Any, statement: str, params: Any, ctx: Any, many: bool
    ) -> None:
        started = getattr(ctx, _STARTED, None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        if _TRANSACTION_CONTROL.match(statement):
            return
        dialect = conn.dialect
        self.write(
            sql=statement,
            params=params,
            dialect=dialect.name,
            driver=dialect.driver,
            paramstyle=dialect.paramstyle,
            ms=elapsed * 1000,
            many=many,
        )


_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)
_STRINGS = re.compile(r"'(?:[^']|'')*'")
_PLACEHOLDERS = re.compile(r"\$\d+|%\(\w+\)s|%s|(?<![\w:]):\w+|\?")
_NUMBERS = re.compile(r"(?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
_CAST = r"(?:::[A-Za-z_][\w ]*?(?:\[\])?)?"
_IN_LIST = re.compile(rf"\bIN\s*\(\s*\?{_CAST}(?:\s*,\s*\?{_CAST})*\s*\)", re.IGNORECASE)
_ARRAY_LIST = re.compile(rf"\bARRAY\[\s*\?{_CAST}(?:\s*,\s*\?{_CAST})*\s*\]", re.IGNORECASE)
_VALUE_LIST = re.compile(rf"\(\s*\?{_CAST}(?:\s*,\s*\?{_CAST})+\s*\)")
_REPEATED_GROUPS = re.compile(r"(\([^()]*\))(?:\s*,\s*\1)+")


def normalise_sql(sql: str) -> str:
    """``sql`` with comments, literals and placeholders removed and value lists collapsed.

    Two runs of one query differ only in values: ``IN`` lists of any length, multi-row
    ``VALUES`` and ``ARRAY[...]`` all normalise alike, so they group as one statement.
    """
    text = _COMMENTS.sub(" ", sql)
    text = _STRINGS.sub("?", text)
    text = _PLACEHOLDERS.sub("?", text)
    text = _NUMBERS.sub("?", text)
    text = " ".join(text.split())
    text = _IN_LIST.sub("IN (?, ...)", text)
    text = _ARRAY_LIST.sub("ARRAY[?, ...]", text)
    text = _VALUE_LIST.sub("(?, ...)", text)
    return _REPEATED_GROUPS.sub(r"\1", text)


def has_placeholders(sql: str) -> bool:
    """Whether ``sql`` takes parameters (placeholders inside string literals do not count)."""
    return bool(_PLACEHOLDERS.search(_STRINGS.sub("", sql)))


def encode_params(params: Any) -> Any:
    """A statement's parameters: positional ones as a JSON array, named ones tagged."""
    if isinstance(params, list | tuple):
        return [encode(value) for value in params]
    return encode(params)


def decode_params(logged: Any) -> Any:
    """The inverse of :func:`encode_params`: positional parameters come back as a tuple."""
    if isinstance(logged, list):
        return tuple(decode(value) for value in logged)
    return decode(logged)


_TAGGED: list[tuple[type | tuple[type, ...], str, Callable[[Any], Any]]] = [
    (uuid.UUID, "uuid", str),
    (datetime, "datetime", lambda v: v.isoformat()),  # before date: a datetime is a date
    (date, "date", lambda v: v.isoformat()),
    (dt_time, "time", lambda v: v.isoformat()),
    (timedelta, "timedelta", lambda v: v.total_seconds()),
    (Decimal, "decimal", str),
    ((bytes, bytearray, memoryview), "bytes", lambda v: base64.b64encode(bytes(v)).decode()),
]


def encode(value: Any) -> Any:
    """``value`` as JSON, tagging the types JSON lacks so :func:`decode` can rebuild them."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$t": "float", "v": repr(value)}
    if isinstance(value, Enum):
        return encode(value.value)
    for types, tag, render in _TAGGED:
        if isinstance(value, types):
            return {"$t": tag, "v": render(value)}
    if isinstance(value, tuple):
        return {"$t": "tuple", "v": [encode(v) for v in value]}
    if isinstance(value, list | set | frozenset):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {"$t": "dict", "v": {str(k): encode(v) for k, v in value.items()}}
    return {"$t": "repr", "v": repr(value)}


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "uuid": uuid.UUID,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": dt_time.fromisoformat,
    "timedelta": lambda v: timedelta(seconds=v),
    "decimal": Decimal,
    "bytes": base64.b64decode,
    "float": float,
}


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`; raises :class:`Unreplayable` for what it cannot rebuild."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag, inner = value.get("$t"), value.get("v")
    if tag == "tuple" and isinstance(inner, list):
        return tuple(decode(v) for v in inner)
    if tag == "dict" and isinstance(inner, dict):
        return {k: decode(v) for k, v in inner.items()}
    decoder = _DECODERS.get(str(tag))
    if decoder is None:
        raise Unreplayable(f"a parameter of type {tag!r} was logged as {str(inner)[:60]!r}")
    try:
        return decoder(inner)
    except (TypeError, ValueError) as exc:
        raise Unreplayable(f"a {tag} parameter is malformed: {exc}") from None


def _too_many(params: Any) -> bool:
    return isinstance(params, Sequence | Mapping) and len(params) > MAX_PARAMS


def _sync(engine: AsyncEngine | Engine) -> Engine:
    return engine.sync_engine if isinstance(engine, AsyncEngine) else engine
