"""The scale curve: page latency at 10k, 100k and 1M articles, seeding rate, export memory.

Latency here is one client at a time (wrk, 1 connection), so it shows the cost of a request as
the data grows rather than throughput. The pages are the ones a list that read every match would
pay for most: the unfiltered list, the most popular tag, a tag with about ten articles, the author
with the most articles, the user with the most favorites, the feed of a reader following 1,000
authors (:func:`dataset.wide_reader`), an offset-10,000 page, and a cursor page 50 pages deep
(reached through ``nextCursor``, 20 rows a page; the baseline has no cursor). A path too slow to
answer within the timed window is timed over 3 requests in a row instead. Each size's pages are
then read once more by ``bench/pages_at_scale.py`` for their ``EXPLAIN (ANALYZE, BUFFERS)``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
from sqlalchemy.engine import URL

from harness import dataset, targets, wrk
from harness.common import BENCH, ROOT, dsn, say
from harness.targets import Target

# Beside the report: each size's page plans, from bench/pages_at_scale.py.
PLANS = "pages.md"
OFFSET_DEEP = 10_000
CURSOR_PAGES = 50
PAGE = 20
# The pages the scale targets name, in the report's order.
PAGES = ("list", "list_tag", "list_rare_tag", "list_author", "list_favorited", "feed_wide",
         "offset_10k", "cursor_50")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Script:
    ran: bool
    output: str
    ratio: float | None = None


@dataclass
class SizeResult:
    spec: dataset.DataSpec
    built: dataset.Built
    cursor: bool
    reader_follows: int = 0
    titles: dict[str, str] = field(default_factory=dict)
    plans: Script | None = None
    # path name -> server name -> run
    runs: dict[str, dict[str, wrk.Run]] = field(default_factory=dict)


async def cursor_to(base: str, pages: int) -> str | None:
    """The cursor of page ``pages`` of the unfiltered list, or None without cursor pages."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        cursor = (await client.get("/api/articles")).json().get("nextCursor")
        for _ in range(pages - 2):
            if cursor is None:
                return None
            page = await client.get("/api/articles", params={"cursor": cursor})
            cursor = page.json().get("nextCursor")
    return None if cursor is None else str(cursor)


def _pages(picks: targets.Picks, reader: str, follows: int, token: str) -> list[Target]:
    q = quote
    auth = {"Authorization": f"Token {token}"}
    return [
        Target("list", "unfiltered", ["/api/articles"], None),
        Target("list_tag", f"most popular tag ({picks.tag_articles:,} articles)",
               [f"/api/articles?tag={q(picks.tag)}"], None),
        Target("list_rare_tag", f"rare tag ({picks.rare_tag_articles:,} articles)",
               [f"/api/articles?tag={q(picks.rare_tag)}"], None),
        Target("list_author", f"author with most articles ({picks.author_articles:,})",
               [f"/api/articles?author={q(picks.author)}"], None),
        Target("list_favorited", f"user with most favorites ({picks.fan_favorites:,})",
               [f"/api/articles?favorited={q(picks.fan)}"], None),
        Target("feed_wide", f"feed of {reader} ({follows:,} followed)", ["/api/articles/feed"],
               None, token=True, headers=auth),
        Target("offset_10k", f"offset {OFFSET_DEEP:,}", [f"/api/articles?offset={OFFSET_DEEP}"],
               None),
    ]  # fmt: skip


async def curve(
    server: URL,
    sizes: list[str],
    *,
    pair_for: object,
    token_for: object,
    seconds: float,
    out: Path,
) -> list[SizeResult]:
    results = []
    for size in sizes:
        spec = dataset.SIZES[size]
        built = await dataset.ensure(server, spec)
        picks = await targets.pick(built.url)
        reader, follows = await dataset.wide_reader(built.url)
        reader_id = await _user_id(built.url, reader)
        result = SizeResult(spec, built, cursor=False, reader_follows=follows)
        paths = _pages(picks, reader, follows, token_for(reader_id))  # type: ignore[operator]
        with pair_for(built.url) as pair:  # type: ignore[operator]
            cursor = await cursor_to(pair.conduit.base, CURSOR_PAGES)
            if cursor is not None:
                result.cursor = True
                paths.append(Target("cursor_50", f"cursor, page {CURSOR_PAGES}",
                                    [f"/api/articles?cursor={quote(cursor)}"], None))  # fmt: skip
            for target in paths:
                result.titles[target.name] = target.title
                servers = [pair.conduit] if target.name == "cursor_50" else [
                    pair.conduit, pair.baseline]  # fmt: skip
                for srv in servers:
                    wrk.run(srv.base, target, seconds=1, connections=1, threads=1)
                    run = wrk.run(srv.base, target, seconds=seconds, connections=1, threads=1)
                    if not run.requests:  # slower than the run: time single requests
                        run = await one_by_one(srv.base + target.urls[0], target.headers)
                    result.runs.setdefault(target.name, {})[srv.name] = run
                    say(f"scale {size:>4} {target.name:<14} {srv.name:<8} "
                        f"p50 {run.p50_ms:8.2f} ms  p99 {run.p99_ms:8.2f} ms")  # fmt: skip
        result.plans = pages_at_scale(built.url, size, out)
        results.append(result)
    return results


async def _user_id(url: str, username: str) -> uuid.UUID:
    conn = await asyncpg.connect(url)
    try:
        found: uuid.UUID = await conn.fetchval("SELECT id FROM users WHERE username = $1", username)
    finally:
        await conn.close()
    return found


def pages_at_scale(url: str, size: str, out: Path) -> Script:
    """bench/pages_at_scale.py on the data set: each page's plan, appended to ``out``."""
    say(f"plans at {size}: bench/pages_at_scale.py")
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(BENCH / "pages_at_scale.py"), "--url", url, "--label", size,
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return Script(done.returncode == 0, (done.stdout + done.stderr).strip()[-2000:])


async def one_by_one(url: str, headers: dict[str, str], count: int = 3) -> wrk.Run:
    """Latency of ``count`` requests in a row, for paths too slow for a timed wrk run."""
    times = []
    async with httpx.AsyncClient(timeout=600, headers=headers) as client:
        for _ in range(count):
            started = time.perf_counter()
            (await client.get(url)).raise_for_status()
            times.append(time.perf_counter() - started)
    times.sort()
    return wrk.Run(
        requests=count,
        seconds=sum(times),
        p50_ms=1000 * times[count // 2],
        p99_ms=1000 * times[-1],
        max_ms=1000 * times[-1],
        status_errors=0,
        socket_errors=0,
    )


def seed_vs_copy(server: URL, articles: int, rounds: int) -> Script:
    """bench/seed_vs_copy.py at ``articles``; the loader/raw and seed/raw ratios it prints."""
    say(f"seeding rate: bench/seed_vs_copy.py --articles {articles} --rounds {rounds}")
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(BENCH / "seed_vs_copy.py"),
         "--url", dsn(server),
         "--articles", str(articles), "--rounds", str(rounds)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        return Script(False, output)
    match = re.search(r"^seed\s+\S+\s+\S+\s+([0-9.]+)\s*$", output, re.MULTILINE)
    return Script(True, output, float(match.group(1)) if match else None)


def export_rss(url: str) -> Script:
    """bench/export_rss.py against ``url`` (DATABASE_URL), when the script exists."""
    script = BENCH / "export_rss.py"
    if not script.exists():
        return Script(False, "bench/export_rss.py does not exist: not run")
    say("export memory: bench/export_rss.py")
    import os  # noqa: PLC0415

    env = {**os.environ, "DATABASE_URL": url, "BENCH_DATABASE_URL": url}
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    output = (done.stdout + done.stderr).strip()
    match = re.search(r"peak RSS\D*([0-9][0-9.,]*)\s*(MB|MiB)", output, re.IGNORECASE)
    value = float(match.group(1).replace(",", "")) if match else None
    return Script(done.returncode == 0, output, value)
