"""Page cost at any size: each kind of list page, timed on one connection, with its plan.

For a seeded PostgreSQL database (``conduit db seed``), picks the pages that cost the most if a
list were O(matches) -- the unfiltered list, the most popular tag, a tag with about ten
articles, the author with the most articles, the user with the most favorites, the feed of the
user who follows closest to 1,000 authors, an offset-10,000 page and a cursor page 50 pages
deep -- and reads each ``--requests`` times through Conduit's own page reader (the statement
the API sends, JSON built by PostgreSQL, on one connection, one at a time). Writes a markdown
section: p50/p99 per page, then each page's ``EXPLAIN (ANALYZE, BUFFERS)`` with the rows its
scans read and the buffers it touched (those do not depend on the machine's load). A
benchmark, never a test:

    .venv/bin/python bench/pages_at_scale.py --url postgresql://postgres@127.0.0.1/conduit_1m \\
        --label 1M [--requests 200] [--only feed] [--out bench/results/<date>/pages.md]

The database is only read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from conduit.db import url as db_url
from conduit.db.config import DatabaseConfig
from conduit.db.engine import create_engine
from conduit.domain import schema  # noqa: F401 - every model mapped before the first query
from conduit.domain.articles.filters import ArticleFilter
from conduit.domain.articles.pages import PageQuery, list_page_documents
from conduit.http.documents import ARTICLE_LIST_ITEM

LIMIT = 20


@dataclass(frozen=True, slots=True)
class Page:
    name: str
    query: PageQuery


async def _scalar(conn: AsyncConnection, sql: str) -> Any:
    return (await conn.execute(text(sql))).scalar_one()


async def pages(conn: AsyncConnection, session: AsyncSession) -> list[Page]:
    """The pages to measure, their keys looked up in the data set."""
    popular = await _scalar(conn, "SELECT name FROM tags ORDER BY articles_count DESC LIMIT 1")
    rare = await _scalar(
        conn,
        "SELECT name FROM tags WHERE articles_count > 0 ORDER BY abs(articles_count - 10) LIMIT 1",
    )
    author = await _scalar(conn, "SELECT username FROM users ORDER BY articles_count DESC LIMIT 1")
    fan = await _scalar(conn, "SELECT username FROM users ORDER BY favorites_count DESC LIMIT 1")
    follower: uuid.UUID = await _scalar(
        conn,
        "SELECT follower_id FROM follows GROUP BY follower_id"
        " ORDER BY abs(count(*) - 1000), follower_id LIMIT 1",
    )
    deep = None
    for _ in range(49):
        page = await list_page_documents(
            session,
            query=PageQuery.listing(ArticleFilter(), viewer_id=None, limit=LIMIT, after=deep),
            document=ARTICLE_LIST_ITEM,
        )
        assert page.next_after is not None
        created, article_id = page.next_after
        # As a cursor decodes (the driver hands back its own UUID type).
        deep = (created, uuid.UUID(str(article_id)))
    listing = PageQuery.listing
    return [
        Page("unfiltered", listing(ArticleFilter(), viewer_id=None, limit=LIMIT)),
        Page(
            f"most popular tag ({popular})",
            listing(ArticleFilter(tag=popular), viewer_id=None, limit=LIMIT),
        ),
        Page(f"rare tag ({rare})", listing(ArticleFilter(tag=rare), viewer_id=None, limit=LIMIT)),
        Page(
            "author with most articles",
            listing(ArticleFilter(author=author), viewer_id=None, limit=LIMIT),
        ),
        Page(
            "user with most favorites",
            listing(ArticleFilter(favorited=fan), viewer_id=None, limit=LIMIT),
        ),
        Page(
            "feed (follower nearest 1,000 follows)", PageQuery.feed(viewer_id=follower, limit=LIMIT)
        ),
        Page("offset 10,000", listing(ArticleFilter(), viewer_id=None, limit=LIMIT, offset=10_000)),
        Page("cursor, page 50", listing(ArticleFilter(), viewer_id=None, limit=LIMIT, after=deep)),
    ]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def rows_scanned(plan: dict[str, Any]) -> int:
    """Rows the plan's scan nodes returned, over all their loops."""
    return sum(
        node["Actual Rows"] * node["Actual Loops"]
        for node in _nodes(plan)
        if node["Node Type"].endswith("Scan")
    )


@dataclass(frozen=True, slots=True)
class Measured:
    name: str
    p50_ms: float
    p99_ms: float
    rows: int
    buffers: int
    plan_text: str


async def measure(
    conn: AsyncConnection, session: AsyncSession, page: Page, requests: int
) -> Measured:
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    sync_engine = conn.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        await list_page_documents(session, query=page.query, document=ARTICLE_LIST_ITEM)
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)
    # The page's statement: the longest sent (a key lookup or a count may come with it).
    statement, parameters = max(sent, key=lambda each: len(each[0]))
    for _ in range(5):  # warm
        await list_page_documents(session, query=page.query, document=ARTICLE_LIST_ITEM)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        await list_page_documents(session, query=page.query, document=ARTICLE_LIST_ITEM)
        times.append((time.perf_counter() - start) * 1000)
    plan_json = (
        await conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", parameters
        )
    ).scalar_one()
    if isinstance(plan_json, str):
        plan_json = json.loads(plan_json)
    plan = plan_json[0]["Plan"]
    plan_text = "\n".join(
        row[0]
        for row in await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
    )
    times.sort()
    return Measured(
        name=page.name,
        p50_ms=statistics.median(times),
        p99_ms=times[min(len(times) - 1, int(len(times) * 0.99))],
        rows=rows_scanned(plan),
        buffers=plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0),
        plan_text=plan_text,
    )


def report(label: str, counts: dict[str, int], measured: list[Measured]) -> str:
    lines = [
        f"## {label}: {counts['articles']:,} articles, {counts['users']:,} users, "
        f"{counts['favorites']:,} favorites, {counts['follows']:,} follows",
        "",
        f"One connection, one request at a time, {LIMIT} articles per page, JSON built by "
        "PostgreSQL (Conduit's page reader, as the API calls it).",
        "",
        "| page | p50 ms | p99 ms | rows read by scans | buffers |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {m.name} | {m.p50_ms:.2f} | {m.p99_ms:.2f} | {m.rows:,} | {m.buffers:,} |"
        for m in measured
    ]
    for m in measured:
        lines += ["", f"### {label}: {m.name}", "", "```", m.plan_text, "```"]
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a seeded PostgreSQL database")
    parser.add_argument("--label", required=True, help="the data set's name in the report")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--out", type=Path, help="append the section to this file")
    parser.add_argument(
        "--only", metavar="TEXT", help="measure only the pages whose name contains TEXT"
    )
    args = parser.parse_args()
    # The service's engine: its session settings (JIT off) shape the plans and their cost.
    engine = create_engine(DatabaseConfig(url=db_url.to_async(args.url)))
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            session = AsyncSession(bind=conn)
            counts = {
                table: int(await _scalar(conn, f"SELECT count(*) FROM {table}"))  # noqa: S608 - constant names
                for table in ("articles", "users", "favorites", "follows")
            }
            measured = [
                await measure(conn, session, page, args.requests)
                for page in await pages(conn, session)
                if args.only is None or args.only in page.name
            ]
    finally:
        await engine.dispose()
    section = report(args.label, counts, measured)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a", encoding="utf-8") as out:
            out.write(section)
    print(section)


if __name__ == "__main__":
    asyncio.run(main())
