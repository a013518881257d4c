"""`conduit db analyze`: the index and query advisor (PostgreSQL only).

Prints the report as rich tables (or JSON with ``--json``); ``--fail-on warning|error`` exits 1
when a finding at or above that severity exists, so CI can gate on it. On SQLite it exits 2.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from conduit.cli.apps import db_app
from conduit.cli.runner import (
    EXIT_USAGE,
    console,
    err_console,
    fail,
    print_json,
    run,
    settings,
)
from conduit.db.config import DatabaseConfig
from conduit.db.engine import create_engine
from conduit.tooling.advisor.analyze import (
    AnalysisNeedsPostgres,
    AnalysisOptions,
    Report,
    Severity,
    analyze,
)
from conduit.tooling.querylog import QueryLogError

STYLES = {Severity.INFO: "cyan", Severity.WARNING: "yellow", Severity.ERROR: "bold red"}


class FailOn(StrEnum):
    WARNING = "warning"
    ERROR = "error"


@db_app.command("analyze")
def analyze_command(
    *,
    query_log: Annotated[
        Path | None,
        typer.Option(
            "--query-log",
            help="A query log whose statements are planned for index advice (default: QUERY_LOG).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option("--fail-on", help="Exit 1 if a finding at or above this severity exists."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    seq_scan_min_rows: Annotated[
        int,
        typer.Option(min=0, help="Report sequential-scan-heavy tables from this many rows."),
    ] = 10_000,
    long_running_seconds: Annotated[
        float, typer.Option(min=0, help="A query running longer than this is reported.")
    ] = 60.0,
    slow_ms: Annotated[
        float,
        typer.Option(min=0, help="pg_stat_statements: a mean time from this many ms is a warning."),
    ] = 100.0,
    top: Annotated[
        int, typer.Option(min=1, help="pg_stat_statements: how many statements to list.")
    ] = 10,
) -> None:
    """Advise on indexes and queries: catalog checks, activity, and plans from a query log.

    Catalog: foreign keys without an index, duplicate, unused and invalid indexes, tables read
    mostly by sequential scans. Activity: the slowest statements (pg_stat_statements),
    connections, long-running and blocked queries. Plans: EXPLAIN of the logged statements,
    re-planned with hypothetical indexes when hypopg is installed. Each finding has a
    severity, the reason and, where one exists, the SQL that fixes it; nothing is changed. On
    SQLite it exits 2.

    Any PostgreSQL database works, Conduit's or another project's: DATABASE_URL=postgresql://...
    conduit db analyze [--query-log FILE]. On MySQL/MariaDB: duplicate and redundant indexes only.
    """
    current = settings()
    config = current.database
    if not config.is_postgres and not config.is_mysql:
        fail(
            "`conduit db analyze` needs PostgreSQL; DATABASE_URL points at a "
            f"{config.url.get_backend_name()} database, which has no index statistics, "
            "pg_stat views or hypothetical indexes",
            hint="set DATABASE_URL to the PostgreSQL database to analyse",
            code=EXIT_USAGE,
        )
    if query_log is None and current.query_log is not None:
        if current.query_log.is_file():
            query_log = current.query_log
        else:
            err_console.print(
                f"note: QUERY_LOG={current.query_log} does not exist yet; no plans to advise on",
                markup=False,
            )
    options = AnalysisOptions(
        seq_scan_min_rows=seq_scan_min_rows,
        long_running_seconds=long_running_seconds,
        top_statements=top,
        slow_statement_ms=slow_ms,
        query_log=query_log,
    )
    report = run(_analyze(config, options))
    if as_json:
        print_json(report.to_dict())
    else:
        render(report)
    if fail_on is not None:
        threshold = Severity(fail_on.value)
        failing = report.at_or_above(threshold)
        if failing:
            fail(f"{len(failing)} finding(s) at or above {threshold.value}")


async def _analyze(config: DatabaseConfig, options: AnalysisOptions) -> Report:
    # One connection is all the advisor uses; name it so it is easy to spot in pg_stat_activity.
    engine = create_engine(
        dataclasses.replace(
            config, application_name="conduit db analyze", pool_size=1, max_overflow=0
        )
    )
    try:
        return await analyze(engine, options=options)
    except AnalysisNeedsPostgres as exc:
        fail(str(exc), code=EXIT_USAGE)
    except QueryLogError as exc:
        fail(str(exc), hint="pass a file written by QUERY_LOG (JSON lines)")
    finally:
        await engine.dispose()


def render(report: Report) -> None:
    counts = report.counts()
    console.print(
        f"[bold]Conduit database advisor[/bold]: {report.database} "
        f"({report.server} {report.server_version}) - "
        f"[bold red]{counts['error']} error(s)[/bold red], "
        f"[yellow]{counts['warning']} warning(s)[/yellow], [cyan]{counts['info']} info[/cyan]"
    )
    for section in report.sections:
        console.print()
        if not section.findings:
            console.print(f"[bold]{section.title}[/bold]: [green]nothing found[/green]")
        else:
            table = Table(title=section.title, title_justify="left", show_lines=True)
            table.add_column("severity", no_wrap=True)
            table.add_column("object", overflow="fold")
            table.add_column("finding", overflow="fold", ratio=3)
            table.add_column("fix", overflow="fold", ratio=2)
            for finding in section.findings:
                detail = Text(finding.message)
                detail.append(f"\nwhy: {finding.why}", style="dim")
                table.add_row(
                    Text(finding.severity.value, style=STYLES[finding.severity]),
                    Text(finding.object),
                    detail,
                    Text(finding.fix or "-", style="green" if finding.fix else "dim"),
                )
            console.print(table)
        for note in section.notes:
            console.print(Text(f"  note: {note}", style="dim"))
