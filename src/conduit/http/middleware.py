"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and costs a task per request)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
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
        await _send_error(send, 413, "request", self.message)


class BodyTimeout:
    """Answer 408 when a request body has not fully arrived ``timeout_s`` after the request began.

    One deadline for the whole body, not per chunk, so a client trickling a byte at a time holds
    a connection no longer than one that stalls outright. Once the body is complete, later
    receives (waiting for a disconnect while streaming) are not timed.
    """

    def __init__(self, app: ASGIApp, *, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                # Raised while the app reads the body: the error handlers render the 408, and
                # the connection is closed, since the rest of the body is not coming.
                raise HTTPException(
                    408,
                    f"body not received within {self.timeout_s:g} s",
                    headers={"Connection": "close"},
                ) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)


_HOST_CHECKED = "conduit.host_checked"


class TrustedHosts:
    """Starlette's ``TrustedHostMiddleware``, answering a foreign ``Host`` with the error body.

    A request whose ``Host`` is not in ``allowed_hosts`` gets 400 before any route runs, so no
    response (the trailing-slash redirect's ``Location`` among them) ever carries it.
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(
            self._allowed, allowed_hosts=list(allowed_hosts), www_redirect=False
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_or_refuse(message: Message) -> None:
            if scope.get(_HOST_CHECKED):
                await send(message)
            elif message["type"] == "http.response.start":
                # The check's own plain-text refusal: replaced by the error body.
                await _send_error(send, 400, "host", "is not allowed")

        await self.check(scope, receive, send_or_refuse)

    async def _allowed(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_HOST_CHECKED] = True
        await self.app(scope, receive, send)


async def _send_error(
    send: Send, status: int, subject: str, message: str, *, close: bool = False
) -> None:
    body = json.dumps({"errors": {subject: [message]}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestDeadline:
    """Answer ``503 {"errors": {"database": ["busy"]}}`` when a response has not started in time.

    At ``seconds`` after the request arrived the app is cancelled wherever it waits (a pooled
    connection, a lock, a statement: asyncpg then cancels the statement on the server too),
    and the client gets the same answer as for any other bounded wait that ran out. The
    deadline covers producing the answer: once the response has started it no longer applies,
    so a streamed body (the export) runs under its own statement timeout instead. A deadline
    that passes while the request body is still arriving is the client's delay, not the
    database's: that answer is 408, as from :class:`BodyTimeout`, and the connection is closed.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        body_pending = True
        deadline = asyncio.timeout(self.seconds)

        async def receive_tracking_body() -> Message:
            nonlocal body_pending
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_pending = False
            return message

        async def send_until_started(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                deadline.reschedule(None)
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive_tracking_body, send_until_started)
        except TimeoutError:
            if not deadline.expired() or started:
                raise  # the app's own timeout, not the deadline
            if body_pending and _declares_body(scope):
                message = f"body not received within {self.seconds:g} s"
                await _send_error(send, 408, "request", message, close=True)
                return
            logger.warning("request deadline of %g s passed: %s", self.seconds, scope["path"])
            await busy_response()(scope, receive, send)


def _declares_body(scope: Scope) -> bool:
    return any(
        name in (b"content-length", b"transfer-encoding") and value not in (b"0", b"")
        for name, value in scope.get("headers", ())
    )
