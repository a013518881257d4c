"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and costs a task per request)."""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.http.errors import busy_response

logger = logging.getLogger(__name__)


class BodySizeLimit:
    """Answer 413 with the RealWorld error body when a request body exceeds ``max_bytes``.

    Checks ``Content-Length`` up front and counts streamed chunks for chunked uploads.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(send)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised while the app reads the body: the error handlers render the 413.
                    raise HTTPException(413, self.message)
            return message

        await self.app(scope, limited_receive, send)

    @property
    def message(self) -> str:
        return f"body is larger than {self.max_bytes} bytes"

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"errors": {"request": [self.message]}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RequestDeadline:
    """Answer ``503 {"errors": {"database": ["busy"]}}`` when a response has not started in time.

    At ``seconds`` after the request arrived the app is cancelled wherever it waits (a pooled
    connection, a lock, a statement: asyncpg then cancels the statement on the server too),
    and the client gets the same answer as for any other bounded wait that ran out. The
    deadline covers producing the answer: once the response has started it no longer applies,
    so a streamed body (the export) runs under its own statement timeout instead.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        deadline = asyncio.timeout(self.seconds)

        async def send_until_started(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                deadline.reschedule(None)
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, send_until_started)
        except TimeoutError:
            if not deadline.expired() or started:
                raise  # the app's own timeout, not the deadline
            logger.warning("request deadline of %g s passed: %s", self.seconds, scope["path"])
            await busy_response()(scope, receive, send)
