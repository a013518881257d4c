"""The two servers under test, started as real processes under the same conditions.

Conduit runs as it ships: `conduit serve --no-migrate --workers W`. The baseline runs under
uvicorn with the same worker count, the same event loop and HTTP parser (uvloop, httptools),
no access log on either (Conduit's is silenced by ``LOG_LEVEL=WARNING``), and the same number
of database connections per worker (Conduit: ``DB_POOL_SIZE=P``, ``DB_MAX_OVERFLOW=0``; the
baseline: an asyncpg pool of P). Each server gets its own process group, stopped by its id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from harness.common import BIN, ROOT, say


@dataclass(frozen=True, slots=True)
class Config:
    workers: int = 2
    pool: int = 10


@dataclass
class Server:
    name: str
    port: int
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _log_handle: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._log_handle = self.log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own commands
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/tags", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within 60 s; see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the server's process)."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_"))}
    return {**env, **extra}


def conduit(url: str, *, port: int, config: Config, secret: str, logs: Path) -> Server:
    env = _env(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secret,
            "LOG_LEVEL": "WARNING",
            "DB_POOL_SIZE": str(config.pool),
            "DB_MAX_OVERFLOW": "0",
        }
    )
    command = [str(BIN / "conduit"), "serve", "--no-migrate", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(config.workers)]  # fmt: skip
    return Server("conduit", port, command, env, logs / "conduit.log")


def baseline(url: str, *, port: int, config: Config, secret: str, logs: Path) -> Server:
    env = _env(
        {"BASELINE_DATABASE_URL": url, "SECRET_KEY": secret, "BASELINE_POOL_SIZE": str(config.pool)}
    )
    command = [str(BIN / "uvicorn"), "--app-dir", "bench/baseline", "app:app",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(config.workers),
               "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
               "--no-access-log"]  # fmt: skip
    return Server("baseline", port, command, env, logs / "baseline.log")


class Pair:
    """Conduit and the baseline over one database, started together and stopped together."""

    def __init__(self, url: str, *, config: Config, secret: str, logs: Path, port: int) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.database = url.rsplit("/", 1)[1].split("?", maxsplit=1)[0]
        self.conduit = conduit(url, port=port, config=config, secret=secret, logs=logs)
        self.baseline = baseline(url, port=port + 1, config=config, secret=secret, logs=logs)

    def __enter__(self) -> Pair:
        say(f"starting conduit on :{self.conduit.port} and the baseline on :{self.baseline.port}")
        try:
            self.conduit.start()
            self.baseline.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conduit.stop()
        self.baseline.stop()
