"""The `conduit db recount` verb: make the kept counts of live articles exact again, or check them.

The services keep them as they write (:mod:`conduit.domain.articles.kept_counts`). Writes that go
around the services leave them behind: rows loaded or edited by hand, or instances of an older
version still writing while an upgrade that introduced them rolls out. ``--check`` is the
periodic consistency check: it compares without writing and exits 1 on any difference.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.cli.apps import db_app
from conduit.cli.runner import console, fail, print_json, run, settings
from conduit.db.session import Database
from conduit.domain.articles import recount as recounting
from conduit.settings import Settings

T = TypeVar("T")


@db_app.command("recount")
def recount(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Compare the kept counts with the rows and change nothing; exit 1 on a "
            "difference.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute the kept counts from the rows, after writes around Conduit.

    The counts: live articles in total, per author, per tag and favorited per user; favorites
    per article; and the copies of each article's created_at on its tag links and favorites.
    With --check, change nothing: print each kept count that differs (table, key, kept,
    actual), and exit 1 when there is one.
    """
    config = settings()
    if not check:
        total = run(_in_session(config, recounting.recount, writes=True))
        if as_json:
            print_json({"live_articles": total})
        else:
            console.print(f"recounted: {total} live articles", markup=False, highlight=False)
        return
    differences = run(_in_session(config, recounting.drift, writes=False))
    if as_json:
        print_json({"drift": [asdict(found) for found in differences]})
    elif differences:
        console.print(_table(differences))
    else:
        console.print("every kept count matches the rows", markup=False, highlight=False)
    if differences:
        fail(
            f"{len(differences)} kept count(s) differ from the rows",
            hint="run `conduit db recount` to recompute them",
        )


def _table(differences: list[recounting.Drift]) -> Table:
    table = Table(title="Kept counts that differ from the rows")
    for column in ("table", "key"):
        table.add_column(column)
    for column in ("kept", "actual"):
        table.add_column(column, justify="right")
    for found in differences:
        # Text, not markup: tag names and usernames may contain brackets.
        table.add_row(found.table, Text(found.key), str(found.kept), str(found.actual))
    return table


async def _in_session(
    config: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, writes: bool
) -> T:
    """``work`` in a unit of work that commits (``writes``) or only reads."""
    database = Database.from_config(config.database)
    try:
        async with database.unit_of_work() if writes else database.reader() as session:
            return await work(session)
    finally:
        await database.dispose()
