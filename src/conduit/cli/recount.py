"""The `conduit db recount` verb: make the kept counts of live articles exact again.

The services keep them as they write (:mod:`conduit.domain.articles.counts`). Writes that go
around the services leave them behind: rows loaded or edited by hand, or instances of an older
version still writing while an upgrade that introduced them rolls out.
"""

from __future__ import annotations

from conduit.cli.apps import db_app
from conduit.cli.runner import console, run, settings
from conduit.db.session import Database
from conduit.domain.articles import counts
from conduit.settings import Settings


@db_app.command("recount")
def recount() -> None:
    """Recompute the counts of live articles (in total, per author, per tag) from the rows."""
    total = run(_recount(settings()))
    console.print(f"recounted: {total} live articles", markup=False, highlight=False)


async def _recount(config: Settings) -> int:
    database = Database.from_config(config.database)
    try:
        async with database.unit_of_work() as session:
            return await counts.recount(session)
    finally:
        await database.dispose()
