"""Advice from real plans: the query log's statements are planned with ``EXPLAIN`` and, when
hypopg is available, re-planned with hypothetical indexes.

``EXPLAIN`` without ``ANALYZE`` never runs a statement, and each statement is planned in its own
transaction that is rolled back (with short lock and statement timeouts), so writes in the log
are safe to plan. Where hypopg is available but not installed, it is created inside that
transaction and rolled back with it: the database is left as it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.tooling.advisor.candidates import Candidate, Relation, candidates, sequential_relations
from conduit.tooling.advisor.report import Finding, Section, Severity
from conduit.tooling.advisor.sql import TAG, create_index, one_line, q
from conduit.tooling.querylog import LoggedStatement, QueryLogContents

_EXPLAINABLE = re.compile(
    r"^(?:\s|/\*.*?\*/|--[^\n]*\n)*\(*\s*(SELECT|WITH|INSERT|UPDATE|DELETE|VALUES|TABLE|MERGE)\b",
    re.IGNORECASE | re.DOTALL,
)
# The statements asyncpg runs: "$1" placeholders and a tuple of values, as EXPLAIN needs them.
_REPLAYABLE_STYLE = "numeric_dollar"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    min_cost_reduction: float = 0.5
    seq_scan_min_rows: int = 10_000
    max_statements: int = 200
    statement_timeout_ms: int = 10_000
    lock_timeout_ms: int = 1_000


@dataclass(frozen=True, slots=True)
class HypoPG:
    available: bool
    create: bool  # create it inside each (rolled back) planning transaction
    note: str


@dataclass(slots=True)
class _Advice:
    candidate: Candidate
    statements: list[dict[str, Any]] = field(default_factory=list)


async def advise(
    conn: AsyncConnection,
    *,
    log: QueryLogContents | None,
    source: str | None,
    options: PlanOptions,
) -> Section:
    section = Section(key="plans", title="Index advice from query plans")
    await _end_transaction(conn)
    hypopg = await detect_hypopg(conn)
    section.notes.append(hypopg.note)
    if log is None:
        section.notes.append(
            "no query log given: record one with QUERY_LOG=<path> (opt-in: it holds parameter "
            "values) and pass --query-log PATH to get advice from the service's real statements"
        )
        return section
    replay = [s for s in log.statements if _replayable(s)]
    skipped = len(log.statements) - len(replay)
    section.notes.append(
        f"{source}: {log.lines} lines, {len(log.statements)} distinct statements; planning "
        f"{min(len(replay), options.max_statements)}"
        + (f"; {skipped} skipped (not asyncpg, unreplayable or not plannable)" if skipped else "")
        + (f"; {log.invalid_lines} unreadable lines" if log.invalid_lines else "")
    )
    advice: dict[Any, _Advice] = {}
    unverified: dict[Any, _Advice] = {}
    cache: dict[Relation, tuple[frozenset[str], int]] = {}
    for statement in replay[: options.max_statements]:
        trans = await conn.begin()
        try:
            await _limits(conn, options)
            if hypopg.create:
                await conn.exec_driver_sql(TAG + "CREATE EXTENSION IF NOT EXISTS hypopg")
            await _plan_one(
                conn,
                statement,
                hypopg=hypopg,
                options=options,
                cache=cache,
                advice=advice,
                unverified=unverified,
            )
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise
            section.notes.append(
                f"could not plan {one_line(statement.normalised, limit=120)}: {_first_line(exc)}"
            )
        finally:
            await trans.rollback()
    section.findings += [_advice_finding(a, options) for a in advice.values()]
    section.findings += [_unverified_finding(a) for a in unverified.values()]
    return section


async def _plan_one(
    conn: AsyncConnection,
    statement: LoggedStatement,
    *,
    hypopg: HypoPG,
    options: PlanOptions,
    cache: dict[Relation, tuple[frozenset[str], int]],
    advice: dict[Any, _Advice],
    unverified: dict[Any, _Advice],
) -> None:
    plan = await explain(conn, statement)
    before = float(plan["Total Cost"])
    relations = sequential_relations(plan)
    for relation in relations - cache.keys():
        cache[relation] = await _relation(conn, relation)
    columns = {rel: cache[rel][0] for rel in relations if cache[rel][0]}
    found = candidates(plan, columns)
    base = {"sql": statement.normalised, "calls": statement.calls, "total_ms": statement.total_ms}
    if not hypopg.available:
        # Unverified: one guess per large table, the widest filter candidate.
        for relation in relations:
            if cache[relation][1] < options.seq_scan_min_rows:
                continue
            mine = [c for c in found if (c.schema, c.table) == relation]
            if mine:
                best = max(mine, key=lambda c: (c.source == "filter", len(c.columns)))
                entry = unverified.setdefault(best.key, _Advice(best))
                entry.statements.append({**base, "cost": before, "rows": cache[relation][1]})
        return
    tried: list[tuple[Candidate, float]] = []
    for candidate in found:
        await conn.execute(q("SELECT hypopg_reset()"))
        await conn.execute(
            q("SELECT * FROM hypopg_create_index(:sql)"), {"sql": candidate.definition()}
        )
        tried.append((candidate, float((await explain(conn, statement))["Total Cost"])))
    await conn.execute(q("SELECT hypopg_reset()"))
    good = [(c, after) for c, after in tried if after <= before * (1 - options.min_cost_reduction)]
    if good:
        best, after = min(good, key=lambda item: (item[1], len(item[0].columns)))
        entry = advice.setdefault(best.key, _Advice(best))
        entry.statements.append({**base, "cost_before": before, "cost_after": after})


async def explain(conn: AsyncConnection, statement: LoggedStatement) -> dict[str, Any]:
    """The root node of ``statement``'s plan, planned with its logged parameter values."""
    sql = TAG + "EXPLAIN (FORMAT JSON, VERBOSE) " + statement.sql
    params = statement.params
    result = await (conn.exec_driver_sql(sql, params) if params else conn.exec_driver_sql(sql))
    document = result.scalar_one()
    if isinstance(document, str):
        document = json.loads(document)
    root: dict[str, Any] = document[0]["Plan"]
    return root


async def detect_hypopg(conn: AsyncConnection) -> HypoPG:
    await _end_transaction(conn)
    installed = (
        await conn.execute(q("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'"))
    ).scalar_one_or_none()
    if installed:
        await _end_transaction(conn)
        return HypoPG(True, False, "hypopg is installed: candidates are tried as hypothetical")
    available = (
        await conn.execute(q("SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'"))
    ).scalar_one_or_none()
    major = (
        int((await conn.execute(q("SELECT current_setting('server_version_num')"))).scalar_one())
        // 10_000
    )
    await _end_transaction(conn)
    unverified = "index candidates are unverified guesses from the plans"
    if not available:
        return HypoPG(
            False,
            False,
            f"hypopg is not available on this server: install postgresql-{major}-hypopg "
            f"(Debian/Ubuntu) and run CREATE EXTENSION hypopg; until then {unverified}",
        )
    trans = await conn.begin()
    try:
        await conn.exec_driver_sql(TAG + "CREATE EXTENSION IF NOT EXISTS hypopg")
    except DBAPIError as exc:
        return HypoPG(
            False,
            False,
            f"hypopg is available but this role cannot create it ({_first_line(exc)}): ask an "
            f"administrator to run CREATE EXTENSION hypopg in this database; until then "
            f"{unverified}",
        )
    finally:
        await trans.rollback()
    return HypoPG(
        True,
        True,
        "hypopg is available but not installed here: it is created inside each planning "
        "transaction and rolled back with it",
    )


def _replayable(statement: LoggedStatement) -> bool:
    return (
        statement.dialect == "postgresql"
        and statement.paramstyle == _REPLAYABLE_STYLE
        and statement.unreplayable is None
        and isinstance(statement.params, tuple | type(None))
        and _EXPLAINABLE.match(statement.sql) is not None
    )


async def _limits(conn: AsyncConnection, options: PlanOptions) -> None:
    # A statement planned behind a migration's lock must fail fast, not queue behind it.
    await conn.execute(
        q(
            "SELECT set_config('statement_timeout', :st, true), "
            "set_config('lock_timeout', :lt, true)"
        ),
        {"st": str(options.statement_timeout_ms), "lt": str(options.lock_timeout_ms)},
    )


async def _relation(conn: AsyncConnection, relation: Relation) -> tuple[frozenset[str], int]:
    schema, table = relation
    # reltuples is -1 until the table is first analysed; the live-tuple count fills in.
    rows = (
        await conn.execute(
            q(
                "SELECT a.attname::text AS name, greatest(c.reltuples::bigint, "
                "pg_stat_get_live_tuples(c.oid), 0) AS rows "
                "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
                "WHERE c.oid = to_regclass("
                "format('%I.%I', CAST(:schema AS text), CAST(:table AS text))) "
                "AND a.attnum > 0 AND NOT a.attisdropped"
            ),
            {"schema": schema, "table": table},
        )
    ).all()
    return frozenset(str(r.name) for r in rows), int(rows[0].rows) if rows else 0


async def _end_transaction(conn: AsyncConnection) -> None:
    if conn.in_transaction():
        await conn.rollback()


def _advice_finding(advice: _Advice, options: PlanOptions) -> Finding:
    c = advice.candidate
    best = max(advice.statements, key=lambda s: 1 - s["cost_after"] / max(s["cost_before"], 1e-9))
    before, after = best["cost_before"], best["cost_after"]
    cut = 1 - after / max(before, 1e-9)
    count = len(advice.statements)
    return Finding(
        check="index_advice",
        severity=Severity.WARNING,
        object=c.label,
        message=(
            f"an index on {c.label} cuts the plan cost of {count} logged statement(s), "
            f"at best from {before:.2f} to {after:.2f} (-{cut:.1%}): "
            f"{one_line(best['sql'], limit=200)}"
        ),
        why=(
            f"re-planned with a hypothetical index on these columns (hypopg), the plan's total "
            f"cost falls by at least {options.min_cost_reduction:.0%}; the columns come from "
            f"the plan's {c.source}"
        ),
        fix=create_index(c.schema, c.table, c.columns),
        details={
            "table": f"{c.schema}.{c.table}",
            "columns": [col.render() for col in c.columns],
            "cost_before": before,
            "cost_after": after,
            "reduction": round(cut, 4),
            "statements": advice.statements,
        },
    )


def _unverified_finding(advice: _Advice) -> Finding:
    c = advice.candidate
    first = advice.statements[0]
    return Finding(
        check="index_candidate",
        severity=Severity.INFO,
        object=c.label,
        message=(
            f"{len(advice.statements)} logged statement(s) scan {c.schema}.{c.table} "
            f"(~{first['rows']} rows) sequentially by its {c.source}: "
            f"{one_line(first['sql'], limit=200)}"
        ),
        why=(
            "an index on these columns may serve it; not verified, because hypopg (hypothetical "
            "indexes) is not available"
        ),
        fix=create_index(c.schema, c.table, c.columns),
        details={"columns": [col.render() for col in c.columns], "statements": advice.statements},
    )


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
