"""Abuse limits and production safety on real ``conduit serve`` processes.

- Two servers with ``RATE_LIMIT_STORAGE_URL`` on the local Redis draw on one budget.
- ``X-Forwarded-For`` moves the client address the limits count by only when the peer is in
  ``FORWARDED_ALLOW_IPS``.
- A request body that stalls is answered 408 and the connection closed after ``BODY_TIMEOUT_S``.
- In production, weak settings stop ``conduit serve`` with one line naming the variable.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.integration.cli.test_serve_process import CONDUIT, Server, free_port, spawn

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WRONG = {"user": {"email": "nobody@example.com", "password": "not the password"}}
Start = Callable[..., Server]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Start ``conduit serve`` on a free port over one SQLite file, with extra environment."""
    started: list[Server] = []

    def launch(*args: str, **env: str) -> Server:
        environment = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "SECRET_KEY": "abuse-test-secret-key-of-enough-length",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        server = spawn(tmp_path, *args, env=environment)
        started.append(server)
        server.wait_healthy()
        return server

    yield launch
    for server in started:
        if server.process.poll() is None:
            server.stop()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of the test's own on the local Redis, its keys deleted afterwards."""
    prefix = f"conduit-test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is required (scripts/ensure_redis.sh): {exc}")
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


def login(server: Server, body=WRONG, **headers: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/users/login", json=body, headers=headers, timeout=10)


def test_two_servers_on_redis_share_one_budget(start: Start, redis_prefix: str) -> None:
    env = {
        "RATE_LIMIT_STORAGE_URL": REDIS_URL,
        "RATE_LIMIT_KEY_PREFIX": redis_prefix,
        "RATE_LIMIT_LOGIN_ACCOUNT": "4/minute",
    }
    first = start(**env)
    second = start("--no-migrate", **env)
    # Two failures on each: four in all, the account's whole budget.
    for server in (first, second, first, second):
        assert login(server).status_code == 401
    # Each server saw only two, yet both refuse: they count in one place.
    for server in (first, second):
        response = login(server)
        assert response.status_code == 429, response.text
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    keys = redis.Redis.from_url(REDIS_URL).keys(f"{redis_prefix}*")
    assert keys, "the budget was not kept in Redis"


def test_forwarded_for_counts_only_from_a_trusted_proxy(start: Start) -> None:
    limits = {"RATE_LIMIT_LOGIN_ADDRESS": "2/minute", "RATE_LIMIT_LOGIN_ACCOUNT": "100/minute"}
    # The test connects from 127.0.0.1: not a proxy this server trusts.
    untrusted = start(FORWARDED_ALLOW_IPS="192.0.2.1", **limits)
    for spoofed in ("198.51.100.1", "198.51.100.2"):
        assert login(untrusted, **{"X-Forwarded-For": spoofed}).status_code == 401
    # A new X-Forwarded-For buys nothing: the peer's own address has spent its budget.
    assert login(untrusted, **{"X-Forwarded-For": "198.51.100.3"}).status_code == 429
    untrusted.stop()

    # The same requests through a trusted proxy (127.0.0.1, the default) count per client.
    trusted = start("--no-migrate", **limits)
    for client in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert login(trusted, **{"X-Forwarded-For": client}).status_code == 401
    assert login(trusted, **{"X-Forwarded-For": "198.51.100.1"}).status_code == 401
    assert login(trusted, **{"X-Forwarded-For": "198.51.100.1"}).status_code == 429


def test_a_stalled_request_body_is_answered_408_and_closed_within_the_timeout(
    start: Start,
) -> None:
    server = start(BODY_TIMEOUT_S="1")
    port = int(server.base_url.rsplit(":", 1)[1])
    head = (
        "POST /api/users/login HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 200\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sent = time.monotonic()
        sock.sendall(head.encode() + b'{"user": {')  # 10 of the 200 bytes, then nothing
        answer = b""
        while chunk := sock.recv(4096):  # until the server closes the connection
            answer += chunk
        elapsed = time.monotonic() - sent
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'{"errors":{"request":["body not received within 1 s"]}}' in answer
    # Cut off at the timeout (1 s), with a generous margin for a loaded machine.
    assert 0.9 <= elapsed < 5.0
    # The server goes on serving, and logged no error for it.
    assert httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200
    _, _, log = server.stop()
    assert "Traceback" not in log, log


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SECRET_KEY": "abc"}, "SECRET_KEY: must be at least 32 bytes"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS: must be set"),
        ({"METRICS_TOKEN": ""}, "METRICS_TOKEN: must be set"),
    ],
)
def test_serve_in_production_refuses_weak_settings_with_one_line(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "ENVIRONMENT": "production",
        "SECRET_KEY": "s" * 32,
        "ALLOWED_HOSTS": "conduit.example.com",
        "METRICS_TOKEN": "m" * 32,
        **env,
    }
    result = subprocess.run(
        [str(CONDUIT), "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {named}")
    assert not (tmp_path / "serve.db").exists()  # refused before touching the database
