"""A real ``conduit serve`` process on a free loopback port, for tests that need one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.conftest import TEST_SECRET

CONDUIT = Path(sys.executable).parent / "conduit"
STARTUP_SECONDS = 30.0


def url_string(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class LiveServer:
    """``conduit serve --no-migrate`` on ``url``; ``env`` adds or overrides settings."""

    def __init__(self, url: URL, workdir: Path, *, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "serve.log"
        env = {
            **os.environ,
            "DATABASE_URL": url_string(url),
            "SECRET_KEY": TEST_SECRET,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        # A file, not a pipe: a pipe nobody reads would block the server once it filled up.
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(CONDUIT), "serve", "--no-migrate", "--port", str(self.port)],
                cwd=workdir,  # no developer's .env
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"serve did not answer within {STARTUP_SECONDS:g} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def serving(url: URL, workdir: Path, *, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A healthy server for the block, stopped after it; its log must show no traceback."""
    live = LiveServer(url, workdir, env=env)
    try:
        live.wait_healthy()
        yield live
    finally:
        live.stop()
    output = live.output()
    assert "Traceback" not in output, output
    # What SQLAlchemy says when a connection is left for the garbage collector to close.
    assert "non-checked-in connection" not in output, output


async def publish(client: httpx.AsyncClient, *, username: str, tag: str) -> str:
    """Register ``username`` on a live server and publish one article tagged ``tag``: its slug."""
    registered = await client.post(
        "/api/users",
        json={
            "user": {
                "username": username,
                "email": f"{username}@example.com",
                "password": "pw12345678",
            }
        },
    )
    assert registered.status_code == 201, registered.text
    auth = {"Authorization": f"Token {registered.json()['user']['token']}"}
    article = {"article": {"title": username, "description": "d", "body": "b", "tagList": [tag]}}
    created = await client.post("/api/articles", json=article, headers=auth)
    assert created.status_code == 201, created.text
    slug: str = created.json()["article"]["slug"]
    return slug
