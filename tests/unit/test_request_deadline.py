"""The request deadline: 503 busy before a response starts (408 while the body is still
arriving), no effect once it has started."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from conduit.http.middleware import RequestEnvelope

DEADLINE = 0.2


async def slow_to_answer(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(5)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"late"})


async def slow_stream(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(4):  # 0.4 s in all: twice the deadline
        await asyncio.sleep(0.1)
        await send({"type": "http.response.body", "body": b"line\n", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def own_timeout(scope: Scope, receive: Receive, send: Send) -> None:
    raise TimeoutError("the app's own")


def client(app: ASGIApp) -> httpx.AsyncClient:
    # Body limits far off: only the deadline is tested here.
    envelope = RequestEnvelope(app, deadline_s=DEADLINE, body_timeout_s=60, max_bytes=1 << 20)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=envelope), base_url="http://t")


async def test_a_response_not_started_by_the_deadline_is_503_busy() -> None:
    cancelled = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await slow_to_answer(scope, receive, send)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    started = time.monotonic()
    async with client(app) as c:
        response = await c.get("/")
    assert time.monotonic() - started < DEADLINE + 0.5
    assert response.status_code == 503
    assert response.json() == {"errors": {"database": ["busy"]}}
    assert response.headers["retry-after"] == "1"
    assert cancelled.is_set()  # the app's work was stopped, not left running


async def test_a_started_stream_runs_past_the_deadline() -> None:
    async with client(slow_stream) as c:
        response = await c.get("/")
    assert response.status_code == 200
    assert response.text == "line\n" * 4


async def test_the_apps_own_timeout_error_is_not_taken_for_the_deadline() -> None:
    async with client(own_timeout) as c:
        with pytest.raises(TimeoutError, match="the app's own"):
            await c.get("/")


async def test_a_body_still_arriving_at_the_deadline_is_408_not_503() -> None:
    async def reads_body(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body", False):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    async def stalled_body() -> AsyncIterator[bytes]:
        yield b'{"article": '
        await asyncio.sleep(5)
        yield b"{}}"

    async with client(reads_body) as c:
        response = await c.post("/", content=stalled_body())
    assert response.status_code == 408
    assert response.json() == {"errors": {"request": [f"body not received within {DEADLINE:g} s"]}}
    assert response.headers["connection"] == "close"
