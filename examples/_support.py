"""What every example shares: a scratch database, statement budgets, and the printing.

``DATABASE_URL`` (read by Conduit's settings, so ``.env`` works too) chooses the dialect and the
server; an example never touches the database it names. On SQLite it works in a new file in a
temporary folder; on PostgreSQL it creates ``conduit_example_<random>`` on that server (the
user needs ``CREATEDB``). Either way the database is migrated to head with Conduit's own
migrations, and dropped when the example ends, whether it passed or not.

Each step of an example runs under :func:`conduit.db.instrument.track` (the counter behind the
``Server-Timing`` header and the tests' ``assert_max_statements``) with a statement budget: a
step that sends more statements than its budget fails the example, which then exits 1.
``SQL_ECHO=1`` prints every statement as it is sent.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from conduit.db.instrument import StatementStats, track
from conduit.db.migrations import Migrations
from conduit.db.scratch import scratch_database
from conduit.db.session import Database
from conduit.domain.articles.models import Article
from conduit.domain.users.models import User
from conduit.settings import Settings, load_settings
from conduit.tooling.seed import SeedSpec, seed_database

SCRATCH_PREFIX = "conduit_example"


class ExampleFailed(AssertionError):
    """An example's result or statement count is not what it promises."""


@dataclass(slots=True)
class Example:
    """The running example: its database, and the steps it has printed."""

    settings: Settings
    database: Database
    total: int = 0

    @property
    def dialect(self) -> str:
        return self.database.engine.dialect.name

    def inserts(self, rows: int) -> int:
        """How many INSERTs the ORM sends for ``rows`` new rows whose key the database makes.

        One multi-row ``INSERT ... RETURNING`` on PostgreSQL; on SQLite, whose ``RETURNING``
        order is not guaranteed, one per row (keys made by the application, such as Conduit's
        UUIDv7 ids, are batched on both).
        """
        return 1 if self.dialect == "postgresql" else rows

    @contextmanager
    def step(self, what: str, *, max_statements: int) -> Iterator[StatementStats]:
        """Print ``what``, run the block, print its statement count; fail past the budget."""
        print(f"\n> {what}")
        started = time.perf_counter()
        with track() as stats:
            yield stats
        millis = (time.perf_counter() - started) * 1000
        self.total += stats.count
        print(f"  [{_statements(stats.count)}, at most {max_statements}; {millis:.1f} ms]")
        if stats.count > max_statements:
            listing = "\n".join(
                f"    {n}. {' '.join(sql.split())[:160]}"
                for n, sql in enumerate(stats.statements, 1)
            )
            raise ExampleFailed(
                f"{what!r} sent {stats.count} statements, more than its budget of "
                f"{max_statements}:\n{listing}"
            )

    @staticmethod
    def show(label: str, value: object) -> None:
        """Print one result of the current step."""
        print(f"  {label}: {value}")

    @staticmethod
    def check(condition: bool, message: str) -> None:
        """Fail the example unless ``condition`` holds (unlike ``assert``, never optimised out)."""
        if not condition:
            raise ExampleFailed(message)

    async def seed(self, **sizes: Any) -> None:
        """Load Conduit's deterministic demo data set (``conduit db seed``) at ``sizes``."""
        # The loader sends a few batches per table; the budget only guards against a loop.
        with self.step(f"seed a demo data set {sizes}", max_statements=50):
            await seed_database(self.database, SeedSpec.scaled(**sizes))


async def _run(main: Callable[[Example], Awaitable[None]]) -> int:
    server = load_settings().async_database_url
    if server.get_backend_name() not in {"sqlite", "postgresql"}:
        raise SystemExit(f"the examples run on SQLite and PostgreSQL, not on {server.drivername}")
    async with scratch_database(server, prefix=SCRATCH_PREFIX) as url:
        # The N+1 detector warns (the lazy-loading example shows it) but never raises here.
        settings = load_settings(
            database_url=url.render_as_string(hide_password=False), n1_strict=False
        )
        await Migrations(settings.database, script_location=settings.migrations_dir).upgrade()
        example = Example(settings=settings, database=Database.from_config(settings.database))
        try:
            await main(example)
        finally:
            await example.database.dispose()
        return example.total


def run(main: Callable[[Example], Awaitable[None]]) -> None:
    """Run an example's ``main`` on a scratch database; exit 1 if it fails."""
    module = sys.modules[main.__module__]
    title = (module.__doc__ or main.__module__).strip().splitlines()[0]
    _show_conduit_warnings()
    print(title)
    try:
        total = asyncio.run(_run(main))
    except ExampleFailed as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"\nok: {_statements(total)} in all")


def _show_conduit_warnings() -> None:
    """Print Conduit's warnings (the N+1 detector's, the slow-statement log) inline.

    A fresh handler each time: a runner may call several examples in one process, each with
    its own stdout. Only Conduit's loggers: ``SQL_ECHO`` output has its own handler.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  (log) %(name)s: %(message)s"))
    logger = logging.getLogger("conduit")
    logger.handlers = [handler]
    logger.setLevel(logging.WARNING)
    logger.propagate = False


def _statements(count: int) -> str:
    return f"{count} statement{'' if count == 1 else 's'}"


def new_user(name: str, **fields: Any) -> User:
    """An account to add. The examples never sign in, so the hash is a placeholder."""
    placeholder = "-"
    return User(email=f"{name}@example.com", username=name, password_hash=placeholder, **fields)


def new_article(title: str, *, author: User, **fields: Any) -> Article:
    """An article by ``author``, its slug made from ``title``."""
    slug = "-".join(title.lower().split())
    return Article(
        slug=slug,
        title=title,
        description=f"About {title}",
        body=f"{title}.",
        author=author,
        **fields,
    )
