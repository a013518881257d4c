"""What the server is doing: the slowest statements (pg_stat_statements) and the connections,
long-running and blocked queries of this database (pg_stat_activity, pg_blocking_pids)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.tooling.advisor.report import Finding, Section, Severity
from conduit.tooling.advisor.sql import TAG, ident, one_line, q

# Server-wide connection use above this share of max_connections is a warning: the next
# deploy or traffic spike will be refused connections.
CONNECTION_USE_WARNING = 0.9

_EXTENSION = """
SELECT e.extversion AS version, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
"""

_TOP_STATEMENTS = """
SELECT s.queryid, s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.max_exec_time, s.rows,
       s.shared_blks_hit, s.shared_blks_read
FROM {schema}.pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.query NOT LIKE :own
ORDER BY s.total_exec_time DESC
LIMIT :top
"""

_ACTIVITY = """
SELECT pid, usename AS user, application_name, state, wait_event_type, wait_event,
       extract(epoch FROM clock_timestamp() - query_start)::float AS query_seconds,
       extract(epoch FROM clock_timestamp() - state_change)::float AS state_seconds,
       left(query, 1000) AS query, pg_blocking_pids(pid) AS blocked_by
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
ORDER BY pid
"""

_SERVER_CONNECTIONS = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used,
       current_setting('max_connections')::int
         - current_setting('superuser_reserved_connections')::int AS available
"""

_IDLE_IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")


async def slow_statements(conn: AsyncConnection, *, top: int, slow_ms: float) -> Section:
    section = Section(key="slow_statements", title="Slowest statements (pg_stat_statements)")
    extension = (await conn.execute(q(_EXTENSION))).mappings().first()
    # pg_settings hides shared_preload_libraries from roles without pg_read_all_settings.
    preload = (
        await conn.execute(
            q("SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'")
        )
    ).scalar_one_or_none()
    libraries = (
        None if preload is None else [lib.strip() for lib in preload.split(",") if lib.strip()]
    )
    loaded = libraries is None or "pg_stat_statements" in libraries
    if extension is None or not loaded:
        section.findings.append(
            _how_to_enable(installed=extension is not None, libraries=libraries)
        )
        return section
    sql = _TOP_STATEMENTS.format(schema=ident(str(extension["schema"])))
    try:
        async with conn.begin_nested():
            result = await conn.execute(q(sql), {"own": TAG.strip() + "%", "top": top})
            rows = result.mappings().all()
    except DBAPIError as exc:
        if "shared_preload_libraries" in str(exc.orig):
            section.findings.append(_how_to_enable(installed=True, libraries=[]))
        else:
            section.notes.append(f"pg_stat_statements cannot be read: {exc.orig}")
        return section
    section.notes.append(
        f"top {top} by total execution time in this database; "
        f"a mean of {slow_ms:g} ms or more is a warning"
    )
    for row in rows:
        section.findings.append(_slow_finding(dict(row), slow_ms=slow_ms))
    return section


def _slow_finding(row: dict[str, Any], *, slow_ms: float) -> Finding:
    mean = float(row["mean_exec_time"])
    return Finding(
        check="slow_statement",
        severity=Severity.WARNING if mean >= slow_ms else Severity.INFO,
        object=f"queryid {row['queryid']}",
        message=(
            f"{row['calls']} calls, mean {mean:.1f} ms, max "
            f"{float(row['max_exec_time']):.1f} ms, total "
            f"{float(row['total_exec_time']):.0f} ms, {row['rows']} rows: "
            f"{one_line(str(row['query']))}"
        ),
        why=(
            "these statements take the largest share of the database's time; record them in "
            "a query log and run `conduit db analyze --query-log PATH` to see their plans and "
            "which index would help"
        ),
        details=row,
    )


def _how_to_enable(*, installed: bool, libraries: list[str] | None) -> Finding:
    steps: list[str] = []
    if libraries is None or "pg_stat_statements" not in libraries:
        wanted = ",".join([*(libraries or []), "pg_stat_statements"])
        steps += [
            "-- the library must be loaded at server start; keep any library already listed:",
            f"ALTER SYSTEM SET shared_preload_libraries = '{wanted}';",
            "-- restart the server, then in this database:",
        ]
    if not installed:
        steps.append("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;")
    state = (
        "installed but its library is not loaded (shared_preload_libraries)"
        if installed
        else "not installed in this database"
    )
    return Finding(
        check="pg_stat_statements_missing",
        severity=Severity.INFO,
        object="extension pg_stat_statements",
        message=f"pg_stat_statements is {state}: the slowest statements cannot be listed",
        why=(
            "pg_stat_statements records the time every normalised statement takes; it is "
            "the way to find the queries worth optimising"
        ),
        fix="\n".join(steps),
        details={"installed": installed, "shared_preload_libraries": libraries},
    )


async def connections(conn: AsyncConnection, *, long_running_seconds: float) -> Section:
    section = Section(key="connections", title="Connections and running queries")
    sessions = [dict(row) for row in (await conn.execute(q(_ACTIVITY))).mappings()]
    server = (await conn.execute(q(_SERVER_CONNECTIONS))).mappings().one()
    database = str((await conn.execute(q("SELECT current_database()"))).scalar_one())
    by_state: dict[str, int] = {}
    for session in sessions:
        state = session["state"] or "unknown"
        by_state[state] = by_state.get(state, 0) + 1
    summary = ", ".join(f"{state} {n}" for state, n in sorted(by_state.items())) or "none"
    section.findings.append(
        Finding(
            check="connections_by_state",
            severity=Severity.INFO,
            object=f"database {database}",
            message=f"{len(sessions)} other connection(s) to this database: {summary}",
            why="many idle connections hold server memory; many active ones mean queueing",
            details={"by_state": by_state},
        )
    )
    used, available = int(server["used"]), max(int(server["available"]), 1)
    if used >= CONNECTION_USE_WARNING * available:
        section.findings.append(
            Finding(
                check="connection_limit",
                severity=Severity.WARNING,
                object="server",
                message=f"{used} of {available} available connections are in use",
                why="once the limit is reached new connections are refused",
                fix=(
                    "-- lower DB_POOL_SIZE x workers, or put PgBouncer in front "
                    "(DB_PGBOUNCER=1); raise max_connections only with the memory to match"
                ),
                details={"used": used, "available": available},
            )
        )
    by_pid = {session["pid"]: session for session in sessions}
    for session in sessions:
        finding = _session_finding(session, by_pid, threshold=long_running_seconds)
        if finding is not None:
            section.findings.append(finding)
    section.notes.append(
        f"long-running: active or idle in a transaction for more than {long_running_seconds:g} s"
    )
    return section


def _session_finding(
    session: dict[str, Any], by_pid: dict[int, dict[str, Any]], *, threshold: float
) -> Finding | None:
    pid = session["pid"]
    who = f"pid {pid} ({session['user']}, {session['application_name'] or 'no application_name'})"
    query = one_line(session["query"] or "", limit=200)
    seconds = session["query_seconds"] or 0.0
    blockers = list(session["blocked_by"] or [])
    if blockers:
        described = "; ".join(_describe_blocker(p, by_pid) for p in blockers)
        return Finding(
            check="blocked_query",
            severity=Severity.WARNING,
            object=who,
            message=f"waiting {seconds:.1f} s for a lock held by {described}: {query}",
            why=(
                "a blocked query holds its connection and everything queued behind its lock; "
                "the blocker is usually a long transaction or a migration"
            ),
            fix="\n".join(_release(p, by_pid) for p in blockers),
            details={"pid": pid, "blocked_by": blockers, "seconds": seconds},
        )
    state = session["state"]
    if state == "active" and seconds > threshold:
        return Finding(
            check="long_running_query",
            severity=Severity.WARNING,
            object=who,
            message=f"running for {seconds:.1f} s: {query}",
            why="a long query holds locks and a snapshot that keeps VACUUM from cleaning up",
            fix=f"SELECT pg_cancel_backend({pid});",
            details={"pid": pid, "seconds": seconds},
        )
    idle = session["state_seconds"] or 0.0
    if state in _IDLE_IN_TRANSACTION and idle > threshold:
        return Finding(
            check="idle_in_transaction",
            severity=Severity.WARNING,
            object=who,
            message=f"{state} for {idle:.1f} s; last statement: {query}",
            why=(
                "an open transaction keeps its locks and holds back VACUUM for as long as "
                "the client leaves it open"
            ),
            fix=f"SELECT pg_terminate_backend({pid});",
            details={"pid": pid, "seconds": idle},
        )
    return None


def _describe_blocker(pid: int, by_pid: dict[int, dict[str, Any]]) -> str:
    blocker = by_pid.get(pid)
    if blocker is None:
        return f"pid {pid}"
    return f"pid {pid} ({blocker['state']}: {one_line(blocker['query'] or '', limit=120)})"


def _release(pid: int, by_pid: dict[int, dict[str, Any]]) -> str:
    # An idle-in-transaction blocker has no query to cancel: only ending its session frees it.
    blocker = by_pid.get(pid)
    if blocker is not None and blocker["state"] in _IDLE_IN_TRANSACTION:
        return f"SELECT pg_terminate_backend({pid});"
    return f"SELECT pg_cancel_backend({pid});"
