"""The scale curve: latency at 10k, 100k and 1M articles, seeding rate, export memory.

Latency here is one client at a time (wrk, 1 connection), so it shows the cost of a request as
the data grows rather than throughput: the first list page, the most popular tag's first page,
and a deep page in the middle of the data set (capped at 50,000 rows deep). The deep page is
read through the API's cursor (``nextCursor`` in a list answer, sent back as ``cursor``) when
the API has one, walked there 100 rows at a time; through ``offset`` on both servers always,
since the baseline has no cursor. A path too slow to answer within the timed window is timed
over 3 requests in a row instead.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
from sqlalchemy.engine import URL

from harness import dataset, targets, wrk
from harness.common import BENCH, ROOT, dsn, say
from harness.targets import Target

DEEP_MAX = 50_000


@dataclass
class SizeResult:
    spec: dataset.DataSpec
    built: dataset.Built
    deep_rows: int
    cursor: bool
    # path name -> server name -> run
    runs: dict[str, dict[str, wrk.Run]] = field(default_factory=dict)


async def cursor_to(base: str, rows: int) -> str | None:
    """The cursor of the page that starts ``rows`` rows deep, or None without cursor pages."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        first = (await client.get("/api/articles", params={"limit": 100})).json()
        cursor = first.get("nextCursor")
        if cursor is None:
            return None
        for _ in range(rows // 100 - 1):
            page = await client.get("/api/articles", params={"limit": 100, "cursor": cursor})
            cursor = page.json().get("nextCursor")
            if cursor is None:
                return None
    return str(cursor)


async def curve(
    server: URL, sizes: list[str], *, pair_for: object, seconds: float
) -> list[SizeResult]:
    results = []
    for size in sizes:
        spec = dataset.SIZES[size]
        built = await dataset.ensure(server, spec)
        picks = await targets.pick(built.url)
        deep = min(spec.articles // 2, DEEP_MAX)
        result = SizeResult(spec, built, deep, cursor=False)
        paths = [
            Target("list", "list", ["/api/articles"], None),
            Target("list_tag", "tag filter", [f"/api/articles?tag={quote(picks.tag)}"], None),
            Target("deep_offset", f"deep page (offset {deep:,})",
                   [f"/api/articles?offset={deep}"], None),
        ]  # fmt: skip
        with pair_for(built.url) as pair:  # type: ignore[operator]
            cursor = await cursor_to(pair.conduit.base, deep)
            if cursor is not None:
                result.cursor = True
                paths.append(Target("deep_cursor", f"deep page (cursor, {deep:,} rows in)",
                                    [f"/api/articles?cursor={quote(cursor)}"], None))  # fmt: skip
            for target in paths:
                servers = [pair.conduit] if target.name == "deep_cursor" else [
                    pair.conduit, pair.baseline]  # fmt: skip
                for srv in servers:
                    wrk.run(srv.base, target, seconds=1, connections=1, threads=1)
                    run = wrk.run(srv.base, target, seconds=seconds, connections=1, threads=1)
                    if not run.requests:  # slower than the run: time single requests
                        run = await one_by_one(srv.base + target.urls[0])
                    result.runs.setdefault(target.name, {})[srv.name] = run
                    say(f"scale {size:>4} {target.name:<12} {srv.name:<8} "
                        f"p50 {run.p50_ms:8.2f} ms  p99 {run.p99_ms:8.2f} ms")  # fmt: skip
        results.append(result)
    return results


async def one_by_one(url: str, count: int = 3) -> wrk.Run:
    """Latency of ``count`` requests in a row, for paths too slow for a timed wrk run."""
    times = []
    async with httpx.AsyncClient(timeout=600) as client:
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


@dataclass(frozen=True, slots=True)
class Script:
    ran: bool
    output: str
    ratio: float | None = None


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
