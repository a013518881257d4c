"""The servers under test, started as real processes under the same conditions.

Conduit runs as users run it: `conduit serve --no-migrate --workers W` on its default
settings (only ``DATABASE_URL`` and ``SECRET_KEY`` are set: pool, log level and access log are
Conduit's defaults). The baseline runs under uvicorn with the same worker count, uvloop and
httptools, no access log, and an asyncpg pool of P connections per worker with no reset round
trip: as fast as raw can be. The minimal server (bench/baseline/minimal.py) is the same with one
route, to show it. Each server gets its own process group, stopped by its id.
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

from conduit.settings import Settings
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
    ready_path: str = "/api/tags"
    cwd: Path = ROOT
    process: subprocess.Popen[bytes] | None = None
    _log_handle: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._log_handle = self.log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own commands
            self.command,
            cwd=self.cwd,
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
                with urllib.request.urlopen(f"{self.base}{self.ready_path}", timeout=5) as response:  # noqa: S310
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
    # Conduit reads its settings from the environment: none of the caller's may leak in.
    settings = {name.upper() for name in Settings.model_fields}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in settings and not k.startswith(("DB_", "DATABASE_", "BASELINE_"))
    }
    return {**env, **extra}


def conduit(url: str, *, port: int, config: Config, secret: str, logs: Path) -> Server:
    env = _env(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secret,
        }
    )
    command = [str(BIN / "conduit"), "serve", "--no-migrate", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(config.workers)]  # fmt: skip
    # Started outside the checkout: a developer's .env there must not change its settings.
    return Server("conduit", port, command, env, logs / "conduit.log", cwd=logs)


def baseline(url: str, *, port: int, config: Config, secret: str, logs: Path) -> Server:
    env = _env(
        {"BASELINE_DATABASE_URL": url, "SECRET_KEY": secret, "BASELINE_POOL_SIZE": str(config.pool)}
    )
    command = [str(BIN / "uvicorn"), "--app-dir", "bench/baseline", "app:app",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(config.workers),
               "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
               "--no-access-log"]  # fmt: skip
    return Server("baseline", port, command, env, logs / "baseline.log")


def minimal(url: str, *, port: int, config: Config, logs: Path, ready_path: str) -> Server:
    """bench/baseline/minimal.py; ``ready_path`` is an article it serves (its only route)."""
    env = _env({"BASELINE_DATABASE_URL": url, "BASELINE_POOL_SIZE": str(config.pool)})
    command = [str(BIN / "uvicorn"), "--app-dir", "bench/baseline", "minimal:app",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(config.workers),
               "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
               "--no-access-log"]  # fmt: skip
    return Server("minimal", port, command, env, logs / "minimal.log", ready_path=ready_path)


class Pair:
    """Two servers over one database, started together and stopped together.

    ``conduit`` is the server measured and ``baseline`` the one it is measured against: Conduit
    and the raw baseline (:meth:`conduit_and_baseline`), or the baseline and the minimal server
    when the baseline itself is checked (:meth:`baseline_and_minimal`).
    """

    def __init__(self, measured: Server, reference: Server, *, database: str) -> None:
        self.conduit = measured
        self.baseline = reference
        self.database = database

    @classmethod
    def conduit_and_baseline(
        cls, url: str, *, config: Config, secret: str, logs: Path, port: int
    ) -> Pair:
        logs.mkdir(parents=True, exist_ok=True)
        return cls(
            conduit(url, port=port, config=config, secret=secret, logs=logs),
            baseline(url, port=port + 1, config=config, secret=secret, logs=logs),
            database=_database(url),
        )

    @classmethod
    def baseline_and_minimal(
        cls, url: str, *, config: Config, secret: str, logs: Path, port: int, ready_path: str
    ) -> Pair:
        logs.mkdir(parents=True, exist_ok=True)
        return cls(
            baseline(url, port=port, config=config, secret=secret, logs=logs),
            minimal(url, port=port + 1, config=config, logs=logs, ready_path=ready_path),
            database=_database(url),
        )

    def __enter__(self) -> Pair:
        say(
            f"starting {self.conduit.name} on :{self.conduit.port} and "
            f"{self.baseline.name} on :{self.baseline.port}"
        )
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


def _database(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", maxsplit=1)[0]
