"""Export memory: peak RSS of a real server while it streams every article as NDJSON.

Starts ``conduit serve`` on a PostgreSQL database holding N articles, streams
``GET /api/admin/export/articles`` to the end, and samples the server process's resident memory
throughout (psutil when installed, else ``/proc/<pid>/status``). If the export streams, the peak
stays near the idle server's footprint however many articles there are; a server that built the
body first would grow with the data. A benchmark, never a test:

    .venv/bin/python bench/export_rss.py                        # 1,000,000 articles
    .venv/bin/python bench/export_rss.py --articles 100000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mydb .venv/bin/python bench/export_rss.py

Which database: ``--url``, else ``DATABASE_URL``: used as it is (it must be migrated; seeded
with ``--articles`` only if it has no users). Otherwise the script keeps a database of its own,
``conduit_bench_export_<N>``, on the server from ``--server``, ``BENCH_DATABASE_URL``,
``TEST_DATABASE_URL`` or ``postgresql://postgres@127.0.0.1:5432/``: created, migrated and filled
by ``conduit db seed --articles N`` the first time, reused afterwards (1M articles take several
minutes to seed). The export needs an admin: a temporary one is added and removed at the end.

Prints rows, bytes, time to the first line, rows/s, the idle server's RSS, the peak while
exporting (sampled every 20 ms; and the kernel's high-water mark), and the RSS at each tenth.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from conduit.db import url as db_url
from conduit.db.model import uuid7
from conduit.http.security import TokenCodec

CONDUIT = Path(sys.executable).parent / "conduit"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "conduit-export-benchmark-secret-not-for-production"  # noqa: S105
ADMIN = "bench-export-admin"
EXPORT = "/api/admin/export/articles"
SAMPLE_SECONDS = 0.02
MB = 1024 * 1024

try:
    import psutil  # type: ignore[import-untyped]
except ImportError:  # optional: /proc does the same on Linux
    psutil = None


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000, help="articles to seed")
    parser.add_argument("--url", help="use this database as it is (default: DATABASE_URL)")
    parser.add_argument("--server", help="PostgreSQL server for the script's own database")
    return parser.parse_args()


# -- memory -------------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """The resident set size of ``pid`` now: psutil if installed, else /proc (VmRSS)."""
    if psutil is not None:
        return int(psutil.Process(pid).memory_info().rss)
    return _proc_status(pid)["VmRSS"]


def high_water_bytes(pid: int) -> int | None:
    """The kernel's peak RSS of ``pid`` since it started (Linux only)."""
    try:
        return _proc_status(pid).get("VmHWM")
    except OSError:
        return None


def _proc_status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024  # reported in kB
    return values


@dataclass
class Sampler:
    """Polls a process's RSS until stopped; keeps the maximum."""

    pid: int
    peak: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop.set()


# -- the database -------------------------------------------------------------------------------


def conduit(*args: str, url: URL) -> None:
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)}
    checkout = Path(__file__).resolve().parents[1]
    subprocess.run([str(CONDUIT), *args], env=env, cwd=checkout, check=True)  # noqa: S603


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def own_database(server: URL, articles: int) -> URL:
    """The script's own database for ``articles``: created and seeded the first time."""
    name = f"conduit_bench_export_{articles}"
    admin = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        exists = await scalar(admin, "SELECT 1 FROM pg_database WHERE datname = :n", n=name)
        if not exists:
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    url = server.set(database=name)
    seeded = await live_articles(url) if exists else None
    if seeded == articles:
        say(f"reusing {name} ({articles:,} articles)")
        return url
    say(f"seeding {name} with {articles:,} articles (once; reused by later runs)")
    conduit("migrate", "upgrade", url=url)
    users = str(max(25, articles // 10))
    conduit("db", "seed", "--reset", "--users", users, "--articles", str(articles), url=url)
    return url


async def live_articles(url: URL) -> int | None:
    """How many live articles ``url`` holds, or None when it is not migrated yet."""
    engine = create_async_engine(url)
    try:
        count = await scalar(engine, "SELECT count(*) FROM articles WHERE deleted_at IS NULL")
        return int(str(count))
    except Exception:  # no schema yet
        return None
    finally:
        await engine.dispose()


async def given_database(url: URL, articles: int) -> URL:
    found = await live_articles(url)
    if found is None:
        raise SystemExit(f"{db_url.mask(url)} has no articles table: run `conduit migrate`")
    if not found:
        say(f"seeding the empty database with {articles:,} articles")
        users = str(max(25, articles // 10))
        conduit("db", "seed", "--users", users, "--articles", str(articles), url=url)
    return url


async def add_admin(engine: AsyncEngine) -> uuid.UUID:
    """A temporary admin, so the benchmark can use any database without changing its users."""
    user_id = uuid7()
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE username = :u"), {"u": ADMIN})
        await conn.execute(
            text(
                "INSERT INTO users (id, email, username, password_hash, role, is_active, credits)"
                " VALUES (:id, :email, :u, '!', 'admin', true, 0)"
            ),
            {"id": user_id, "email": f"{ADMIN}@example.invalid", "u": ADMIN},
        )
    return user_id


async def remove_admin(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE username = :u"), {"u": ADMIN})


# -- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def start_server(url: URL, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603
            [str(CONDUIT), "serve", "--no-migrate", "--port", str(port)],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit(f"the server exited with {process.returncode}")
            try:
                if (await client.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not answer /health within 30 s")


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Result:
    rows: int = 0
    bytes: int = 0
    first_line_seconds: float = 0.0
    seconds: float = 0.0
    idle_rss: int = 0
    peak_rss: int = 0
    high_water_before: int | None = None
    high_water: int | None = None
    by_tenth: list[tuple[int, int]] = field(default_factory=list)


async def export(base: str, token: str, pid: int, expected: int) -> Result:
    result = Result()
    result.idle_rss = rss_bytes(pid)
    result.high_water_before = high_water_bytes(pid)
    sampler = Sampler(pid)
    sampling = asyncio.create_task(sampler.run())
    next_tenth = 1
    headers = {"Authorization": f"Token {token}"}
    started = time.perf_counter()
    try:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(60.0, read=600.0)) as client,
            client.stream("GET", f"{base}{EXPORT}", headers=headers) as response,
        ):
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                if not result.rows and chunk:
                    result.first_line_seconds = time.perf_counter() - started
                result.rows += chunk.count(b"\n")
                result.bytes += len(chunk)
                while expected and result.rows >= next_tenth * expected / 10 and next_tenth <= 10:
                    result.by_tenth.append((next_tenth * 10, rss_bytes(pid)))
                    next_tenth += 1
    finally:
        result.seconds = time.perf_counter() - started
        sampler.stop()
        await sampling
    result.peak_rss = sampler.peak
    result.high_water = high_water_bytes(pid)
    return result


def report(result: Result, *, database: str) -> None:
    rate = result.rows / result.seconds if result.seconds else 0.0
    print(f"database:               {database}")
    print(f"articles exported:      {result.rows:,} ({result.bytes / MB:,.1f} MB of NDJSON)")
    print(f"first line after:       {result.first_line_seconds * 1000:,.0f} ms")
    print(f"export time:            {result.seconds:,.1f} s ({rate:,.0f} rows/s,"
          f" {result.bytes / MB / result.seconds:,.1f} MB/s)")  # fmt: skip
    print(f"server RSS, idle:       {result.idle_rss / MB:,.1f} MB")
    print(f"peak RSS (sampled):     {result.peak_rss / MB:,.1f} MB"
          f" (+{(result.peak_rss - result.idle_rss) / MB:,.1f} MB over idle)")  # fmt: skip
    if result.high_water is not None and result.high_water_before is not None:
        # The kernel's high-water mark misses nothing, but it includes start-up.
        print(f"peak RSS (VmHWM):       {result.high_water / MB:,.1f} MB since start"
              f" ({result.high_water_before / MB:,.1f} MB before the export)")  # fmt: skip
    if result.by_tenth:
        print("RSS along the export:   " + "  ".join(
            f"{percent}%: {rss / MB:,.0f}" for percent, rss in result.by_tenth
        ) + " MB")  # fmt: skip


async def main() -> None:
    args = arguments()
    given = args.url or os.environ.get("DATABASE_URL")
    if given:
        url = await given_database(db_url.parse(given), args.articles)
    else:
        raw = args.server or os.environ.get("BENCH_DATABASE_URL")
        raw = raw or os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER
        url = await own_database(db_url.parse(raw), args.articles)

    engine = create_async_engine(url)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"conduit-export-rss-{os.getpid()}.log"  # noqa: S108
    process: subprocess.Popen[bytes] | None = None
    try:
        expected = await live_articles(url) or 0
        admin_id = await add_admin(engine)
        token = TokenCodec(secret=SECRET, ttl=dt.timedelta(hours=1)).issue(admin_id)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        say(f"starting conduit serve on {base} (log: {log})")
        process = start_server(url, port, log)
        await wait_healthy(base, process)
        # One small authenticated request first, so the idle figure includes a warm pool.
        async with httpx.AsyncClient() as client:
            warm = await client.get(f"{base}/api/user", headers={"Authorization": f"Token {token}"})
            warm.raise_for_status()
        say(f"exporting {expected:,} articles")
        result = await export(base, token, process.pid, expected)
        report(result, database=db_url.mask(url))
        if result.rows != expected:
            raise SystemExit(f"exported {result.rows:,} rows, expected {expected:,}")
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        await remove_admin(engine)
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
