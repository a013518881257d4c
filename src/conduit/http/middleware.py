"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and costs a task per request).

Every request passes one layer, :class:`RequestEnvelope`, which does all that each request needs
around it; :class:`TrustedHosts` is added inside it when ``ALLOWED_HOSTS`` is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from contextlib import nullcontext, suppress

from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.db.instrument import StatementStats, track
from conduit.http.errors import busy_response
from conduit.http.observability import RequestMetrics
from conduit.log import request_id

logger = logging.getLogger(__name__)

UNMATCHED_ROUTE = "<unmatched>"
REQUEST_ID_HEADER = b"x-request-id"
# A client's id is logged verbatim: no spaces, quotes or control characters that could forge or
# break a log line, and short enough to index.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


class RequestEnvelope:
    """What every request gets around it, in one layer: one ``receive`` and one ``send``
    wrapper per request instead of a stack of them, one per concern.

    - **Its id**: the request's ``X-Request-ID`` when that is up to 128 letters, digits or
      ``.``, ``_``, ``:``, ``-``, and a new random one otherwise. Every log record emitted while
      it is handled carries it, and the response returns it in ``X-Request-ID``.
    - **Instrumentation**: the request is timed and wrapped in a statement-accounting block
      (:func:`conduit.db.instrument.track`), so every unit of work it opens is counted, for the
      Prometheus metrics (given ``metrics``) and the ``Server-Timing`` header (``server_timing``).
    - **A deadline** (``deadline_s``): when no response has started in time, the app is
      cancelled wherever it waits (a pooled connection, a lock, a statement: asyncpg then
      cancels the statement on the server too), and the client gets
      ``503 {"errors": {"database": ["busy"]}}``, as for any other bounded wait that ran out.
      Once the response has started the deadline no longer applies, so a streamed body (the
      export) runs under its own statement timeout instead. A deadline that passes while the
      body is still arriving is the client's delay: 408, and the connection is closed.
    - **A body timeout** (``body_timeout_s``): 408 when the body has not fully arrived that long
      after the request began. One deadline for the whole body, not per chunk, so a client
      trickling a byte at a time holds a connection no longer than one that stalls outright.
      Once the body is complete, later receives (waiting for a disconnect while streaming) are
      not timed.
    - **A body size limit** (``max_bytes``): 413 with the error body when ``Content-Length``
      exceeds it (checked up front) or when streamed chunks add up past it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        deadline_s: float,
        body_timeout_s: float,
        max_bytes: int,
        metrics: RequestMetrics | None = None,
        server_timing: bool = False,
        allowed_hosts: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.deadline_s = deadline_s
        self.body_timeout_s = body_timeout_s
        self.max_bytes = max_bytes
        self.metrics = metrics
        self.server_timing = server_timing
        self.tracked = metrics is not None or server_timing
        self.too_large = f"body is larger than {max_bytes} bytes"
        self.body_late = f"body not received within {body_timeout_s:g} s"
        self.deadline_body_late = f"body not received within {deadline_s:g} s"
        # A foreign Host is refused before an oversized body, as for any other request (the
        # app's own TrustedHosts, inside this layer, checks the rest).
        self.oversized: ASGIApp = (
            TrustedHosts(self._refuse_oversized, allowed_hosts=allowed_hosts)
            if allowed_hosts
            else self._refuse_oversized
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        exchange = _Exchange(self, scope, receive, send)
        token = request_id.set(exchange.request_id.decode("ascii"))
        with track() if self.tracked else nullcontext(exchange.stats) as stats:
            exchange.stats = stats
            try:
                await self._answer(exchange)
            finally:
                if self.metrics is not None:
                    route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
                    seconds = time.perf_counter() - started_at
                    self.metrics.observe(
                        scope["method"], route, exchange.status, seconds, stats.count
                    )
        # Not reset when the app raises: the handlers outside every middleware (Starlette's 500
        # handler, the server's error and access logs) log the failure after it, and the id is
        # still this request's. The server runs each request in a task of its own, whose
        # context ends with it.
        request_id.reset(token)

    async def _answer(self, exchange: _Exchange) -> None:
        deadline = exchange.deadline
        try:
            async with deadline:
                if exchange.too_big:
                    await self.oversized(exchange.scope, exchange.raw_receive, exchange.send)
                else:
                    await self.app(exchange.scope, exchange.receive, exchange.send)
        except TimeoutError:
            if not deadline.expired() or exchange.started:
                raise  # the app's own timeout, not the deadline
            if exchange.body_pending and exchange.declares_body:
                late = self.deadline_body_late
                await _send_error(exchange.send, 408, "request", late, close=True)
                return
            path = exchange.scope["path"]
            logger.warning("request deadline of %g s passed: %s", self.deadline_s, path)
            await busy_response()(exchange.scope, exchange.raw_receive, exchange.send)

    async def _refuse_oversized(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _send_error(send, 413, "request", self.too_large)


class _Exchange:
    """One request's state in :class:`RequestEnvelope`, with the ``receive`` and ``send`` the
    app gets."""

    __slots__ = (
        "body_deadline",
        "body_pending",
        "deadline",
        "declares_body",
        "envelope",
        "raw_receive",
        "raw_send",
        "received",
        "request_id",
        "scope",
        "started",
        "stats",
        "status",
        "too_big",
    )

    def __init__(
        self, envelope: RequestEnvelope, scope: Scope, receive: Receive, send: Send
    ) -> None:
        self.envelope = envelope
        self.scope = scope
        self.raw_receive = receive
        self.raw_send = send
        given = b""
        self.too_big = self.declares_body = False
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                given = given or value
            elif name in (b"content-length", b"transfer-encoding"):
                self.declares_body = self.declares_body or value not in (b"0", b"")
                if name == b"content-length":
                    with suppress(ValueError):
                        self.too_big = self.too_big or int(value) > envelope.max_bytes
        sane = _SANE_REQUEST_ID.fullmatch(given)
        self.request_id = given if sane else uuid.uuid4().hex.encode("ascii")
        self.stats = StatementStats()
        self.status = 500
        self.started = False
        self.body_pending = True
        self.received = 0
        self.deadline = asyncio.timeout(envelope.deadline_s)
        self.body_deadline = asyncio.get_running_loop().time() + envelope.body_timeout_s

    async def receive(self) -> Message:
        if not self.body_pending:
            return await self.raw_receive()
        try:
            async with asyncio.timeout_at(self.body_deadline):
                message = await self.raw_receive()
        except TimeoutError:
            # Raised while the app reads the body: the error handlers render the 408, and the
            # connection is closed, since the rest of the body is not coming.
            late = self.envelope.body_late
            raise HTTPException(408, late, headers={"Connection": "close"}) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.body_pending = False
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.envelope.max_bytes:
                # Raised while the app reads the body: the error handlers render the 413.
                raise HTTPException(413, self.envelope.too_large)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if not self.started:
                self.started = True
                if not self.deadline.expired():  # else this is the answer to the deadline
                    self.deadline.reschedule(None)
            headers = [
                (name, value)
                for name, value in message.get("headers", ())
                if name.lower() != REQUEST_ID_HEADER
            ]
            if self.envelope.server_timing:
                stats = self.stats
                timing = f'db;dur={stats.seconds * 1000:.2f};desc="{stats.count} statements"'
                headers.append((b"server-timing", timing.encode("latin-1")))
            headers.append((REQUEST_ID_HEADER, self.request_id))
            message = {**message, "headers": headers}
        await self.raw_send(message)


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
