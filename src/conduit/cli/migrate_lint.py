"""`conduit migrate lint`: check that every revision is safe to apply to a live PostgreSQL.

A thin verb over :mod:`conduit.tooling.migration_lint`: it renders each revision offline (no
database needed) and runs squawk on it with the rules shipped in the package
(``conduit/migrations/squawk.toml``). Exit 0 when clean, 1 on any violation or when squawk is
missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from conduit.cli.apps import migrate_app
from conduit.cli.migrate import migrations_for
from conduit.cli.runner import CommandFailed, console, fail, handled, print_json, settings
from conduit.migrations import squawk_config
from conduit.tooling.migration_lint import (
    LintReport,
    SquawkMissing,
    Violation,
    find_squawk,
    lint_migrations,
)

STATEMENT_WIDTH = 72


@migrate_app.command("lint")
def lint(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Migrations folder to lint (default: the one `conduit migrate` uses: "
            "--config's, else MIGRATIONS_DIR, else Conduit's own).",
            exists=True,
            file_okay=False,
            resolve_path=True,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="squawk configuration (default: the rules shipped with Conduit, squawk.toml).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    squawk: Annotated[
        Path | None,
        typer.Option("--squawk", help="squawk executable (default: beside Python, then PATH)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Render every revision's upgrade to PostgreSQL SQL and check it with squawk.

    Any project's Alembic migrations work, offline: --dir path/to/migrations, or conduit
    migrate --config path/to/alembic.ini lint.
    """
    with handled():
        if directory is not None:
            script_location, ini = directory, None
        else:
            chosen = migrations_for(settings(), ctx)
            script_location, ini = chosen.script_location, chosen.ini
        if config is None:
            config = squawk_config()
        try:
            executable = find_squawk(squawk)
        except SquawkMissing as exc:
            raise CommandFailed(
                exc.message, hint="pip install squawk-cli (it is in the dev extras)"
            ) from None
        report = lint_migrations(
            script_location,
            squawk=executable,
            config=config,
            ini=ini,
        )
        if not report.revisions:
            # A lint that checked nothing must not pass: the folder is probably the wrong one.
            raise CommandFailed(
                f"no revisions found in {script_location}",
                hint="is --dir (or MIGRATIONS_DIR) the migrations folder?",
            )

    if as_json:
        print_json(_report_dict(report))
    elif report.ok:
        console.print(
            f"{len(report.revisions)} revision(s) linted with squawk {report.squawk_version}: "
            "no violations.",
            highlight=False,
        )
    else:
        console.print(_table(report))
    if not report.ok:
        files = {violation.path for violation in report.violations}
        fail(
            f"{len(report.violations)} migration safety violation(s) in {len(files)} revision(s)",
            hint="make each change the safe way shown, or exclude a rule that cannot apply "
            "in a squawk config of your own (--config), saying why",
        )


def _table(report: LintReport) -> Table:
    folders = sorted({_display(violation.path.parent) for violation in report.violations})
    table = Table(
        title=f"Migration safety (squawk {report.squawk_version})",
        caption=f"revision files in {', '.join(folders)}",
        show_lines=True,
        expand=True,
    )
    table.add_column("revision file", overflow="fold", ratio=2)
    table.add_column("statement", overflow="fold", ratio=3)
    table.add_column("rule", overflow="fold", ratio=2)
    table.add_column("safe alternative", overflow="fold", ratio=3)
    for violation in report.violations:
        # Text cells: SQL and advice may hold brackets that rich would read as markup.
        table.add_row(
            Text(violation.path.name, style="bold"),
            Text(shorten(violation.statement)),
            Text(violation.rule, style="yellow"),
            Text(violation.advice),
        )
    return table


def shorten(statement: str, width: int = STATEMENT_WIDTH) -> str:
    """One line of at most ``width`` characters."""
    flat = " ".join(statement.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _report_dict(report: LintReport) -> dict[str, Any]:
    return {
        "squawk_version": report.squawk_version,
        "revisions": [
            {"revision": rendered.revision, "file": _display(rendered.path)}
            for rendered in report.revisions
        ],
        "violations": [_violation_dict(violation) for violation in report.violations],
    }


def _violation_dict(violation: Violation) -> dict[str, Any]:
    return {
        "file": _display(violation.path),
        "revision": violation.revision,
        "rule": violation.rule,
        "level": violation.level,
        "message": violation.message,
        "help": violation.help,
        "advice": violation.advice,
        "statement": violation.statement,
        "line": violation.line,
    }
