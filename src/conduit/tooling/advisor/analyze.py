"""The index and query advisor for PostgreSQL.

:func:`analyze` reads the catalog, the statistics views and (optionally) a query log, and
returns a :class:`Report` in sections; every finding carries a severity, the object, why it
matters and, where one exists, the SQL that fixes it::

    catalog      foreign keys without an index, duplicate, unused and invalid indexes,
                 tables read mostly by sequential scans            (catalog.py)
    activity     slowest statements (pg_stat_statements), connections, long-running and
                 blocked queries                                    (activity.py)
    plans        EXPLAIN of the query log's statements, re-planned with hypothetical
                 indexes when hypopg is available                   (plans.py)

The advisor only reads: it never creates an index, and it plans logged statements without
running them, each in a transaction that is rolled back. On MySQL and MariaDB it reports the
duplicate and redundant indexes (mysql.py); the other sections need PostgreSQL. SQLite
has none of the statistics this needs: :class:`AnalysisNeedsPostgres` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.db.errors import DatabaseError, translate
from conduit.tooling.advisor import activity, catalog, mysql, plans
from conduit.tooling.advisor.report import Finding, Report, Section, Severity
from conduit.tooling.advisor.sql import q
from conduit.tooling.querylog import QueryLogContents, read_query_log

__all__ = [
    "AnalysisNeedsPostgres",
    "AnalysisOptions",
    "Finding",
    "Report",
    "Section",
    "Severity",
    "analyze",
]


class AnalysisNeedsPostgres(Exception):
    """The engine is not PostgreSQL; the message says why analysis cannot run there."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisOptions:
    # Sequential-scan findings (and unverified index guesses) only for tables this large.
    seq_scan_min_rows: int = 10_000
    long_running_seconds: float = 60.0
    # pg_stat_statements: how many statements to list, and the mean time that is a warning.
    top_statements: int = 10
    slow_statement_ms: float = 100.0
    query_log: Path | None = None
    # Suggest a hypothetical index only if it cuts the plan's total cost by this share.
    min_cost_reduction: float = 0.5
    max_logged_statements: int = 200


async def analyze(engine: AsyncEngine, *, options: AnalysisOptions | None = None) -> Report:
    """The advisor's report on ``engine``'s database."""
    options = options or AnalysisOptions()
    if engine.dialect.name == "mysql":
        return await _analyze_mysql(engine)
    if engine.dialect.name != "postgresql":
        raise AnalysisNeedsPostgres(
            f"analysis needs PostgreSQL; this database is {engine.dialect.name}, which has no "
            "index statistics, pg_stat views or hypothetical indexes"
        )
    # Read the log first: a missing or unreadable file should fail before any database work.
    log: QueryLogContents | None = (
        read_query_log(options.query_log) if options.query_log is not None else None
    )
    try:
        async with engine.connect() as conn:
            info = (
                await conn.execute(
                    q("SELECT current_database() AS db, current_setting('server_version') AS v")
                )
            ).one()
            report = Report(database=str(info.db), server_version=str(info.v))
            report.sections += await catalog.check(
                conn, seq_scan_min_rows=options.seq_scan_min_rows
            )
            await conn.rollback()
            report.sections.append(
                await activity.slow_statements(
                    conn, top=options.top_statements, slow_ms=options.slow_statement_ms
                )
            )
            await conn.rollback()
            report.sections.append(
                await activity.connections(conn, long_running_seconds=options.long_running_seconds)
            )
            await conn.rollback()
            report.sections.append(
                await plans.advise(
                    conn,
                    log=log,
                    source=str(options.query_log) if options.query_log else None,
                    options=plans.PlanOptions(
                        min_cost_reduction=options.min_cost_reduction,
                        seq_scan_min_rows=options.seq_scan_min_rows,
                        max_statements=options.max_logged_statements,
                    ),
                )
            )
    except DatabaseError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise translate(exc) from exc
    return report


async def _analyze_mysql(engine: AsyncEngine) -> Report:
    try:
        async with engine.connect() as conn:
            info = (await conn.execute(q("SELECT DATABASE() AS db, VERSION() AS v"))).one()
            version = str(info.v)
            server = "MariaDB" if "mariadb" in version.lower() else "MySQL"
            report = Report(database=str(info.db), server_version=version, server=server)
            report.sections.append(mysql.redundant_indexes(await mysql.indexes(conn)))
    except (SQLAlchemyError, OSError) as exc:
        raise translate(exc) from exc
    skipped = Section(key="postgresql_only", title="Activity and plans")
    skipped.notes.append(
        "slow statements, connections and query-log plans need PostgreSQL (pg_stat_statements,"
        " EXPLAIN with hypothetical indexes); on MySQL see performance_schema and the sys schema"
    )
    report.sections.append(skipped)
    return report
