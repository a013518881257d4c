"""Seeding rate: `conduit db seed`'s loader against a raw asyncpg COPY of the same rows.

Generates one data set (by default 10k users, 100k articles, 500 tags at ~3 per article, 500k
favorites) once, then loads it into a scratch PostgreSQL database repeatedly, alternating:

- ``raw COPY``: plain asyncpg, one transaction, ``copy_records_to_table`` per table;
- ``loader``: Conduit's loader as `conduit db seed` runs it (a unit of work, COPY through the
  SQLAlchemy connection's driver, identities advanced, ANALYZE), on the same pre-built rows;
- ``seed``: `conduit db seed` end to end (rows generated while they stream, then loaded).

Each run starts from emptied tables after a CHECKPOINT, so no run pays for the previous one's
dirty pages. Prints rows/s per run, the medians, and loader/raw and seed/raw ratios (the target
is at least 0.5). A benchmark, never a test:

    .venv/bin/python bench/seed_vs_copy.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
        [--articles 100000] [--rounds 3]

The server URL comes from ``--url``, else ``BENCH_DATABASE_URL``, else ``TEST_DATABASE_URL``;
the script creates its own database there and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from conduit.db import url as db_url
from conduit.db.config import DatabaseConfig
from conduit.db.migrations import Migrations
from conduit.db.session import Database
from conduit.domain.schema import metadata
from conduit.migrations import location as bundled_migrations
from conduit.tooling.seed import (
    DataSet,
    Mode,
    SeedSpec,
    TableRows,
    demo_password_hash,
    seed_database,
)
from conduit.tooling.seed import load as loader

Rows = list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL server URL (any database on it)")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--users", type=int, help="default: articles / 10")
    parser.add_argument("--tags", type=int, default=500)
    parser.add_argument("--tags-per-article", type=float, default=3.0)
    parser.add_argument("--favorites", type=int, help="default: 5 x articles")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def plain(url: URL) -> str:
    """The URL as asyncpg takes it (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def admin(server: URL, sql: str) -> None:
    conn = await asyncpg.connect(plain(server))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def empty(url: URL) -> None:
    """Empty every table and flush dirty pages, so each run starts from the same state."""
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    conn = await asyncpg.connect(plain(url))
    try:
        await conn.execute(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def raw_copy(url: URL, rows: Rows) -> None:
    conn = await asyncpg.connect(plain(url))
    try:
        async with conn.transaction():
            for table, columns, records in rows:
                await conn.copy_records_to_table(table, records=records, columns=list(columns))
    finally:
        await conn.close()


async def conduit_loader(database: Database, rows: Rows) -> None:
    tables = [TableRows(table, columns, len(r), iter(r)) for table, columns, r in rows]
    async with database.unit_of_work() as session:
        conn = await session.connection()
        await loader.prepare(conn)
        loaded = await loader.load(conn, tables)
        await loader.finish(conn, loaded)


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def main() -> int:
    args = arguments()
    raw = args.url or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    server = db_url.parse(raw or DEFAULT_SERVER)
    spec = SeedSpec(
        users=args.users or max(args.articles // 10, 1),
        articles=args.articles,
        comments=0,
        tags=args.tags,
        tags_per_article=args.tags_per_article,
        favorites=args.favorites if args.favorites is not None else 5 * args.articles,
        follows=0,
        seed=args.seed,
        until=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    started = time.perf_counter()
    data = DataSet(spec, password_hash=demo_password_hash(spec.seed))
    rows: Rows = [(t.table, t.columns, list(t.rows)) for t in data.tables() if t.count]
    generated = time.perf_counter() - started
    total = sum(len(r) for _, _, r in rows)
    print(f"data set: {', '.join(f'{len(r):,} {t}' for t, _, r in rows)}")
    print(f"generated {total:,} rows once in {generated:.1f}s ({total / generated:,.0f} rows/s)")

    name = f"conduit_bench_seed_{uuid.uuid4().hex[:8]}"
    await admin(server, f'CREATE DATABASE "{name}"')
    url = server.set(database=name)
    config = DatabaseConfig(url=url, statement_timeout_ms=0)
    database = Database.from_config(config)
    try:
        await Migrations(config, script_location=bundled_migrations()).upgrade()
        runs: dict[str, list[float]] = {"raw COPY": [], "loader": [], "seed": []}
        actions: dict[str, Callable[[], Awaitable[None]]] = {
            "raw COPY": lambda: raw_copy(url, rows),
            "loader": lambda: conduit_loader(database, rows),
            "seed": lambda: _seed(database, spec),
        }
        for round_ in range(args.rounds):
            order = list(actions) if round_ % 2 == 0 else list(reversed(actions))
            for label in order:
                await empty(url)
                seconds = await timed(actions[label])
                runs[label].append(seconds)
                rate = total / seconds
                print(f"round {round_ + 1}  {label:<9} {seconds:7.2f}s  {rate:>10,.0f} rows/s")
        report(runs, total)
    finally:
        await database.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


async def _seed(database: Database, spec: SeedSpec) -> None:
    # The tables are empty already; RESET only lets it run whatever is left in them.
    await seed_database(database, spec, mode=Mode.RESET)


def report(runs: dict[str, list[float]], total: int) -> None:
    rate = {label: total / statistics.median(seconds) for label, seconds in runs.items()}
    print()
    print(f"{'':<9} {'median s':>9} {'rows/s':>12} {'vs raw':>7}")
    for label, seconds in runs.items():
        ratio = rate[label] / rate["raw COPY"]
        print(f"{label:<9} {statistics.median(seconds):9.2f} {rate[label]:12,.0f} {ratio:7.2f}")
    per_round = [raw / mine for raw, mine in zip(runs["raw COPY"], runs["loader"], strict=True)]
    print(f"loader/raw per round: {', '.join(f'{r:.2f}' for r in per_round)} (target >= 0.5)")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
