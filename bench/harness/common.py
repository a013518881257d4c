"""Where things are, and the few helpers every part of the harness shares."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/"
# Signs the tokens the harness mints and the servers read (Conduit's SECRET_KEY).
DEFAULT_SECRET = "conduit-benchmark-secret-not-for-production"  # noqa: S105


def server_url(raw: str | None = None) -> URL:
    """The PostgreSQL server to use: ``raw``, else ``BENCH_DATABASE_URL``, else the default."""
    url = make_url(raw or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_SERVER)
    return url.set(drivername="postgresql")


def dsn(url: URL, database: str | None = None) -> str:
    """``url`` as asyncpg and ``DATABASE_URL`` take it, on ``database`` if given."""
    if database is not None:
        url = url.set(database=database)
    elif not url.database:
        url = url.set(database="postgres")
    return url.render_as_string(hide_password=False)


def secret() -> str:
    return os.environ.get("SECRET_KEY") or DEFAULT_SECRET


def say(message: str) -> None:
    """Progress on stderr, stamped, so a long run shows where it is."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
