"""The benchmark's data sets: built by `conduit db seed` once, then reused while they still fit.

Each size lives in a database of its own (``conduit_bench_<size>``) on the benchmark server.
The database's comment records the spec it was seeded with; it is written last, so a build
that was interrupted is never mistaken for a finished one. A data set is reused when the
comment matches and the row counts are still those of the spec; otherwise it is rebuilt.
Every run first migrates it to head (a no-op when current), so new migrations apply to it.

The benchmark only reads these databases: the write paths run on a throwaway copy
(:func:`scratch_copy`), so the data set stays exactly as seeded.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass

import asyncpg
from sqlalchemy.engine import URL

from harness.common import BIN, ROOT, dsn, say

# Bump when the way data sets are built changes, so old ones are rebuilt.
BUILD_VERSION = 1


@dataclass(frozen=True, slots=True)
class DataSpec:
    size: str
    users: int
    articles: int
    favorites: int
    follows: int
    tags: int = 500
    tags_per_article: float = 3.0
    comments: int = 0
    seed: int = 42
    # Fixed, so the same seed gives the same rows, timestamps included, on every day.
    until: str = "2026-01-01"

    @property
    def database(self) -> str:
        return f"conduit_bench_{self.size}"

    @property
    def marker(self) -> str:
        return json.dumps({"build": BUILD_VERSION, **asdict(self)}, sort_keys=True)

    def seed_arguments(self) -> list[str]:
        return [
            f"--users={self.users}",
            f"--articles={self.articles}",
            f"--favorites={self.favorites}",
            f"--follows={self.follows}",
            f"--tags={self.tags}",
            f"--tags-per-article={self.tags_per_article}",
            f"--comments={self.comments}",
            f"--seed={self.seed}",
            f"--until={self.until}",
        ]

    def describe(self) -> str:
        return (
            f"{self.users:,} users, {self.articles:,} articles, {self.tags} tags "
            f"(~{self.tags_per_article:g} per article, skewed), {self.favorites:,} favorites, "
            f"{self.follows:,} follows, {self.comments:,} comments; seed {self.seed}, "
            f"timestamps in the year before {self.until}"
        )


# The size is 100k; the others keep its proportions for the scale curve.
SIZES = {
    "10k": DataSpec("10k", users=1_000, articles=10_000, favorites=50_000, follows=10_000),
    "100k": DataSpec("100k", users=10_000, articles=100_000, favorites=500_000, follows=100_000),
    "1m": DataSpec("1m", users=100_000, articles=1_000_000, favorites=5_000_000, follows=1_000_000),
}


@dataclass(frozen=True, slots=True)
class Built:
    spec: DataSpec
    url: str
    reused: bool
    seconds: float
    seed_report: dict[str, object] | None


@asynccontextmanager
async def connect(server: URL, database: str | None = None) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(dsn(server, database))
    try:
        yield conn
    finally:
        await conn.close()


def conduit(*args: str, url: str) -> str:
    """Run the `conduit` command against ``url``; its stdout, or the failure with its stderr."""
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [str(BIN / "conduit"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"conduit {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout


async def counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        tables = ("users", "articles", "favorites", "follows", "tags", "article_tags")
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}  # noqa: S608
    finally:
        await conn.close()


def _fits(spec: DataSpec, found: dict[str, int]) -> bool:
    return (
        found["users"] == spec.users
        and found["articles"] == spec.articles
        and found["favorites"] == spec.favorites
        # The wide reader's follows come on top of the seeded ones (see wide_reader).
        and spec.follows <= found["follows"] <= spec.follows + WIDE_READER_FOLLOWS
        and found["tags"] == spec.tags
    )


# The feed page the scale targets name: a reader who follows 1,000 authors (every other user on
# a data set of 1,000 users or fewer).
WIDE_READER_FOLLOWS = 1_000


async def wide_reader(url: str) -> tuple[str, int]:
    """The reader who follows ``WIDE_READER_FOLLOWS`` authors: (username, followees).

    The user first by username follows the first authors by username (with at least one live
    article); added once, kept on later runs (``ON CONFLICT DO NOTHING``), deterministic for a
    data set. Follows have no kept count, so nothing else changes.
    """
    conn = await asyncpg.connect(url)
    try:
        reader = await conn.fetchrow("SELECT id, username FROM users ORDER BY username LIMIT 1")
        await conn.execute(
            """
            INSERT INTO follows (follower_id, followee_id)
            SELECT $1, id FROM users
            WHERE id <> $1 AND articles_count > 0
            ORDER BY username LIMIT $2
            ON CONFLICT DO NOTHING
            """,
            reader["id"],
            WIDE_READER_FOLLOWS,
        )
        follows = await conn.fetchval(
            "SELECT count(*) FROM follows WHERE follower_id = $1", reader["id"]
        )
    finally:
        await conn.close()
    return str(reader["username"]), int(follows)


async def vacuum(url: str) -> None:
    """Fresh statistics and visibility map: a migration that rewrote a table (a new column
    with a default) leaves every page not all-visible, and ``count(*)`` then reads the heap
    instead of an index. Cheap when nothing changed."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def ensure(server: URL, spec: DataSpec) -> Built:
    """The data set ``spec`` on ``server``, built unless a fitting one is there already."""
    started = time.perf_counter()
    url = dsn(server, spec.database)
    async with connect(server) as admin:
        comment = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            spec.database,
        )
    if comment == spec.marker:
        try:
            conduit("migrate", "upgrade", url=url)
        except RuntimeError as exc:
            # E.g. its revision was rewritten since: its schema is nobody's any more.
            say(f"data set {spec.size}: cannot migrate it ({exc}), rebuilding")
        else:
            found = await counts(url)
            if _fits(spec, found):
                say(f"data set {spec.size}: reusing {spec.database}")
                await wide_reader(url)
                await vacuum(url)
                return Built(spec, url, True, time.perf_counter() - started, None)
            say(f"data set {spec.size}: counts changed ({found}), rebuilding")
    say(f"data set {spec.size}: building {spec.database} ({spec.describe()})")
    async with connect(server) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{spec.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{spec.database}"')
    conduit("migrate", "upgrade", url=url)
    report = json.loads(conduit("db", "seed", "--json", *spec.seed_arguments(), url=url))
    await wide_reader(url)
    await vacuum(url)
    async with connect(server) as admin:
        await admin.execute(f"COMMENT ON DATABASE \"{spec.database}\" IS '{spec.marker}'")
    seconds = time.perf_counter() - started
    say(f"data set {spec.size}: built in {seconds:.0f}s")
    return Built(spec, url, False, seconds, report)


@asynccontextmanager
async def scratch_copy(server: URL, spec: DataSpec) -> AsyncIterator[str]:
    """A throwaway copy of the data set (for the write paths), dropped afterwards.

    ``CREATE DATABASE ... TEMPLATE`` copies files, so it needs the source idle: the servers
    must be stopped; an autovacuum worker may still be connected for a moment, hence the retry.
    """
    name = f"{spec.database}_writes"
    async with connect(server) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for attempt in range(10):
            try:
                await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{spec.database}"')
                break
            except asyncpg.ObjectInUseError:
                if attempt == 9:
                    raise
                await asyncio.sleep(1)
    try:
        yield dsn(server, name)
    finally:
        async with connect(server) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
