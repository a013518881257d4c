"""Writing generated rows fast: COPY on PostgreSQL, batched inserts on SQLite and MySQL.

On MySQL a batch is one multi-row ``INSERT`` (the driver's ``executemany`` joins the rows).

COPY itself is the database layer's (:mod:`conduit.db.bulk_load`, the only code that touches
the driver); this module decides what goes where, in which order, and reports progress.

Everything runs on one connection inside the caller's transaction, table after table, each
table streamed from its generator: memory stays flat whatever the size.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.db.bulk_load import Copier, copier
from conduit.domain.schema import metadata
from conduit.domain.tags.models import Tag
from conduit.tooling.seed.spec import DEMO_EMAIL, DEMO_USERNAME, Start, TableRows

BATCH_ROWS = 5_000
# How many rows between two progress updates when rows stream through COPY.
PROGRESS_EVERY = 2_000


class Progress(Protocol):
    """Where the loader reports how far it got (a progress bar, or nothing)."""

    def start(self, table: str, total: int) -> None: ...

    def advance(self, table: str, rows: int) -> None: ...


class NoProgress:
    def start(self, table: str, total: int) -> None:
        pass

    def advance(self, table: str, rows: int) -> None:
        pass


class SchemaMismatch(Exception):
    """A table has a required column that the generator does not fill."""


@dataclass(frozen=True, slots=True)
class Loaded:
    table: str
    rows: int
    seconds: float


def table(name: str) -> Table:
    return metadata.tables[name]


def check_columns(tables: Iterable[TableRows]) -> None:
    """Fail before writing anything if a NOT NULL column without a default would be left out."""
    for rows in tables:
        for column in table(rows.table).columns:
            required = not column.nullable and column.server_default is None
            if required and column.default is None and column.name not in rows.columns:
                raise SchemaMismatch(
                    f"the seed data does not fill the required column {rows.table}.{column.name}"
                )


async def load(
    conn: AsyncConnection, tables: Sequence[TableRows], *, progress: Progress | None = None
) -> list[Loaded]:
    """Write every table's rows in order; returns what each table took."""
    check_columns(tables)
    progress = progress or NoProgress()
    copy = await copier(conn)
    loaded: list[Loaded] = []
    for rows in tables:
        progress.start(rows.table, rows.count)
        started = time.perf_counter()
        if copy is not None:
            count = await _copy(copy, rows, progress)
        else:
            count = await _insert(conn, rows, progress)
        loaded.append(Loaded(rows.table, count, time.perf_counter() - started))
    return loaded


async def _copy(copy: Copier, rows: TableRows, progress: Progress) -> int:
    counter = _Counter(rows.table, progress)
    await copy.copy_rows(table=rows.table, columns=rows.columns, rows=counter.wrap(rows.rows))
    return counter.total


async def _insert(conn: AsyncConnection, rows: TableRows, progress: Progress) -> int:
    statement = insert(table(rows.table))
    columns = rows.columns
    total = 0
    while batch := [dict(zip(columns, row, strict=True)) for row in islice(rows.rows, BATCH_ROWS)]:
        await conn.execute(statement, batch)
        total += len(batch)
        progress.advance(rows.table, len(batch))
    return total


class _Counter:
    def __init__(self, table: str, progress: Progress) -> None:
        self.table = table
        self.progress = progress
        self.total = 0

    def wrap(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        pending = 0
        for row in rows:
            yield row
            pending += 1
            if pending == PROGRESS_EVERY:
                self.total += pending
                self.progress.advance(self.table, pending)
                pending = 0
        self.total += pending
        self.progress.advance(self.table, pending)


async def prepare(conn: AsyncConnection) -> None:
    """Session settings for a bulk load (PostgreSQL): no statement timeout, bounded lock waits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL statement_timeout = 0"))
        # TRUNCATE waits for every open transaction on the tables; fail clearly instead.
        await conn.execute(text("SET LOCAL lock_timeout = '15s'"))


async def user_count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(table("users")))).scalar_one())


async def reset(conn: AsyncConnection) -> None:
    """Empty every table of the schema (identities restart on PostgreSQL)."""
    tables = list(reversed(metadata.sorted_tables))
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(t.name) for t in tables)
        await conn.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))
        return
    for each in tables:  # children first, so no cascade has to run
        await conn.execute(each.delete())


async def start_after_existing(conn: AsyncConnection, *, user_count: int) -> Start:
    """Where an appended data set begins, so its names, slugs and ids clash with nothing."""
    users, articles = table("users"), table("articles")
    articles_count = (await conn.execute(select(func.count()).select_from(articles))).scalar_one()
    max_tag = (await conn.execute(select(func.max(Tag.id)))).scalar_one()
    max_comment = (await conn.execute(select(func.max(table("comments").c.id)))).scalar_one()
    existing_tags: dict[str, int] = dict((await conn.execute(select(Tag.name, Tag.id))).all())
    demo_taken = (
        await conn.execute(
            select(
                select(users.c.id)
                .where((users.c.username == DEMO_USERNAME) | (users.c.email == DEMO_EMAIL))
                .exists()
            )
        )
    ).scalar_one()
    return Start(
        user_number=user_count,
        article_number=int(articles_count),
        tag_id=int(max_tag or 0) + 1,
        comment_id=int(max_comment or 0) + 1,
        existing_tags=existing_tags,
        with_demo=not demo_taken,
    )


async def finish(conn: AsyncConnection, loaded: Sequence[Loaded]) -> None:
    """After explicit ids: move identities past them; then refresh the planner's statistics."""
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "mysql" and loaded:
        # AUTO_INCREMENT moves past explicit ids by itself; refresh the index statistics.
        await conn.execute(text(f"ANALYZE TABLE {', '.join(quote(e.table) for e in loaded)}"))
        return
    if conn.dialect.name != "postgresql":
        return  # SQLite's rowid keys continue from the highest id by themselves
    for each in loaded:
        for column in table(each.table).primary_key.columns:
            if column.identity is None or not each.rows:
                continue
            sequence = func.pg_get_serial_sequence(each.table, column.name)
            after = select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()
            await conn.execute(select(func.setval(sequence, after, False)))
    await conn.execute(text(f"ANALYZE {', '.join(quote(each.table) for each in loaded)}"))
