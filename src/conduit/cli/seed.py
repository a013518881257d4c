"""The `conduit db seed` verb: deterministic demo data at a chosen size.

Every seeded account signs in with the password ``password``; a fresh data set's first account
is ``demo@example.com``.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from conduit.cli.apps import db_app
from conduit.cli.migrate import UPGRADE_HINT, migrations_for
from conduit.cli.runner import EXIT_USAGE, CommandFailed, console, fail, print_json, run, settings
from conduit.db.session import Database
from conduit.settings import Settings
from conduit.tooling.seed import (
    DEMO_PASSWORD,
    DatabaseNotEmpty,
    Mode,
    SchemaMismatch,
    SeedReport,
    SeedSpec,
    SeedSpecError,
    seed_database,
    today,
)

NOT_EMPTY_HINT = (
    "pass --reset to replace its data, --append to add to it, or --if-empty to leave it alone"
)


class _Bars:
    """One rich progress bar per table, shown only on a terminal."""

    def __init__(self, *, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<13}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _Bars:
        self._progress.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def start(self, table: str, total: int) -> None:
        self._tasks[table] = self._progress.add_task(table, total=total)

    def advance(self, table: str, rows: int) -> None:
        self._progress.advance(self._tasks[table], rows)


def _mode(*, reset: bool, append: bool, if_empty: bool) -> Mode:
    chosen = [name for name, flag in (("--reset", reset), ("--append", append),
              ("--if-empty", if_empty)) if flag]  # fmt: skip
    if len(chosen) > 1:
        fail(f"{' and '.join(chosen)} exclude each other", hint="pass one of them", code=EXIT_USAGE)
    if reset:
        return Mode.RESET
    if append:
        return Mode.APPEND
    return Mode.IF_EMPTY if if_empty else Mode.NEW


async def _seed(config: Settings, spec: SeedSpec, *, mode: Mode, bars: _Bars) -> SeedReport:
    state = await migrations_for(config).state()
    if not state.is_current:
        raise CommandFailed("the database schema is not at the latest revision", hint=UPGRADE_HINT)
    database = Database.from_config(config.database)
    try:
        with bars:
            return await seed_database(database, spec, mode=mode, progress=bars)
    except DatabaseNotEmpty as exc:
        raise CommandFailed(str(exc), hint=NOT_EMPTY_HINT) from None
    except SchemaMismatch as exc:
        raise CommandFailed(str(exc), hint="teach conduit.tooling.seed to fill it") from None
    finally:
        await database.dispose()


@db_app.command("seed")
def seed(
    *,
    users: Annotated[int, typer.Option(min=0, help="Accounts (each with a profile).")] = 25,
    articles: Annotated[int, typer.Option(min=0, help="Articles.")] = 100,
    comments: Annotated[
        int | None, typer.Option(min=0, help="Comments. [default: 3 per article]")
    ] = None,
    tags: Annotated[int, typer.Option(min=0, help="Distinct tags (popularity is skewed).")] = 20,
    tags_per_article: Annotated[
        float | None, typer.Option(min=0, help="Average tags on an article. [default: 3]")
    ] = None,
    favorites: Annotated[
        int | None,
        typer.Option(min=0, help="Favorites. [default: 5 per article, at most half the pairs]"),
    ] = None,
    follows: Annotated[
        int | None, typer.Option(min=0, help="Follows between users. [default: 6 per user]")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same rows (ids included).")] = 42,
    until: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Newest timestamp, UTC (default: today). Data spans the year before it.",
        ),
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Empty every table first.")] = False,
    append: Annotated[
        bool, typer.Option("--append", help="Add a new data set beside the existing data.")
    ] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database has users.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Fill the database with deterministic, realistic demo data (password: "password").

    Refuses to touch a database that has users unless --reset, --append or --if-empty says how.
    """
    mode = _mode(reset=reset, append=append, if_empty=if_empty)
    config = settings()
    spec = SeedSpec.scaled(
        users=users,
        articles=articles,
        comments=comments,
        tags=tags,
        tags_per_article=tags_per_article,
        favorites=favorites,
        follows=follows,
        seed=seed,
        until=until.replace(tzinfo=dt.UTC) if until else today(),
        initial_credits=config.initial_credits,
    )
    try:
        spec.validate()
    except SeedSpecError as exc:
        fail(str(exc), hint="ask for fewer rows or more users/articles/tags", code=EXIT_USAGE)
    bars = _Bars(enabled=console.is_terminal and not as_json)
    report = run(_seed(config, spec, mode=mode, bars=bars))
    if as_json:
        print_json(report.as_dict())
    else:
        _print(report)


def _print(report: SeedReport) -> None:
    if not report.seeded:
        console.print("The database already has users: nothing seeded (--if-empty).")
        return
    table = Table(title=f"Seeded {report.dialect} (seed {report.spec.seed})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("seconds", justify="right")
    for each in report.tables:
        table.add_row(each.table, f"{each.rows:,}", f"{each.seconds:.2f}")
    console.print(table)
    console.print(
        f"{report.rows:,} rows in {report.seconds:.2f}s ({report.rows_per_second:,.0f} rows/s)."
    )
    if report.login_email:
        console.print(
            f'Sign in as {report.login_email} with the password "{DEMO_PASSWORD}" '
            "(every seeded account has it).",
            markup=False,
        )
