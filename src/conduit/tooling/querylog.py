"""Reading a query log back: its distinct statements, with call counts and times, for the advisor.

The offline half of the query log. The running service writes the log through
:mod:`conduit.db.querylog` (the hook the app installs when ``QUERY_LOG`` is set, and the line
format both ways); this module only reads a finished file, for ``conduit db analyze --query-log``
(:mod:`conduit.tooling.advisor.plans` re-plans what it returns). Runs of one statement are
grouped by their normalised text, per dialect, and the slowest run is kept with its parameters
rebuilt, so it can be planned again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conduit.db.querylog import Unreplayable, decode_params, has_placeholders, normalise_sql


class QueryLogError(Exception):
    """The query log file cannot be read; the message names it and says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedStatement:
    """One distinct (normalised) statement of the log, with its slowest recorded run."""

    sql: str
    params: Any
    normalised: str
    dialect: str
    driver: str
    paramstyle: str
    calls: int
    total_ms: float
    max_ms: float
    unreplayable: str | None = None  # why the parameters cannot be rebuilt, if they cannot


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryLogContents:
    statements: list[LoggedStatement]
    lines: int
    invalid_lines: int


def read_query_log(path: Path) -> QueryLogContents:
    """The distinct statements of ``path``, most total time first; bad lines are counted."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    # Runs of one statement share its text exactly (only parameters differ): normalise each
    # distinct text once.
    normalised: dict[str, str] = {}
    lines = invalid = 0
    try:
        with Path(path).open(encoding="utf-8") as handle:
            for raw in handle:
                if not raw.strip():
                    continue
                lines += 1
                entry = _parse(raw)
                if entry is None:
                    invalid += 1
                    continue
                sql = entry["sql"]
                if sql not in normalised:
                    normalised[sql] = normalise_sql(sql)
                key = (str(entry.get("dialect", "")), normalised[sql])
                seen = found.setdefault(
                    key, {"entry": entry, "calls": 0, "total": 0.0, "max": -1.0}
                )
                seen["calls"] += 1
                seen["total"] += entry["ms"]
                if entry["ms"] > seen["max"]:
                    seen["entry"], seen["max"] = entry, entry["ms"]
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise QueryLogError(f"cannot read the query log {path}: {reason}") from None
    statements = [_statement(key[1], seen) for key, seen in found.items()]
    statements.sort(key=lambda s: (-s.total_ms, s.normalised))
    return QueryLogContents(statements=statements, lines=lines, invalid_lines=invalid)


def _parse(raw: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(raw)
        entry["sql"] = str(entry["sql"])
        entry["ms"] = float(entry.get("ms") or 0.0)
    except (ValueError, KeyError, TypeError):
        return None
    return entry if isinstance(entry, dict) else None


def _statement(normalised: str, seen: dict[str, Any]) -> LoggedStatement:
    entry = seen["entry"]
    params: Any = None
    reason: str | None = None
    try:
        params = decode_params(entry.get("params"))
    except Unreplayable as exc:
        reason = str(exc)
    if entry.get("params") is None and "params" in entry and has_placeholders(entry["sql"]):
        reason = "its parameters were not logged (too many)"
    return LoggedStatement(
        sql=str(entry["sql"]),
        params=params,
        normalised=normalised,
        dialect=str(entry.get("dialect", "")),
        driver=str(entry.get("driver", "")),
        paramstyle=str(entry.get("paramstyle", "")),
        calls=seen["calls"],
        total_ms=round(seen["total"], 3),
        max_ms=round(max(seen["max"], 0.0), 3),
        unreplayable=reason,
    )
