"""`conduit serve` as a real process: it migrates, binds, answers /health and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from tests.conftest import MIGRATIONS_DIR

CONDUIT = Path(sys.executable).parent / "conduit"
STARTUP_DEADLINE_SECONDS = 30.0
# uvicorn shuts down cleanly on SIGTERM, then re-raises the signal so the exit status shows it.
GRACEFUL = (0, -signal.SIGTERM)
HEAD = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def applied_revisions(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in tables:
            return []
        return [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]


class Server:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.base_url = f"http://127.0.0.1:{port}"

    def wait_healthy(self) -> httpx.Response:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                pytest.fail(f"serve exited with {self.process.returncode}:\n{out}\n{err}")
            try:
                return httpx.get(f"{self.base_url}/health", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"serve did not answer /health within {STARTUP_DEADLINE_SECONDS:g} s")

    def stop(self) -> tuple[int, str, str]:
        self.process.terminate()
        try:
            out, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            pytest.fail(f"serve ignored SIGTERM:\n{out}\n{err}")
        return self.process.returncode, out, err


def spawn(workdir: Path, *args: str, env: dict[str, str]) -> Server:
    """``conduit serve ARGS`` on a free port, in ``workdir``, with the environment ``env``."""
    port = free_port()
    process = subprocess.Popen(
        [str(CONDUIT), "serve", "--port", str(port), *args],
        cwd=workdir,  # no developer's .env
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Server(process, port)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    started: list[Server] = []

    def launch(*args: str) -> Server:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("SECRET_KEY", None)
        server = spawn(tmp_path, *args, env=env)
        started.append(server)
        return server

    yield launch
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.communicate()


def test_serve_migrates_then_answers_health_and_exits_on_sigterm(start, tmp_path: Path) -> None:
    server = start()
    response = server.wait_healthy()
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert applied_revisions(tmp_path / "serve.db") == [HEAD]

    ready = httpx.get(f"{server.base_url}/health/ready", timeout=5.0)
    assert ready.status_code == 200
    assert ready.json()["database"] == "sqlite"

    code, out, err = server.stop()
    assert code in GRACEFUL, err
    assert "Application shutdown complete" in err
    assert f"Migrated the database to {HEAD}." in out
    assert f"Conduit serving on {server.base_url} (1 worker, database sqlite+aiosqlite:" in out
    assert "Traceback" not in err


def test_serve_with_no_migrate_leaves_the_schema_alone(start, tmp_path: Path) -> None:
    server = start("--no-migrate")
    assert server.wait_healthy().json() == {"status": "ok"}
    code, out, err = server.stop()
    assert code in GRACEFUL, err
    assert "Migrated" not in out
    assert applied_revisions(tmp_path / "serve.db") == []
