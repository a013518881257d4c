"""Per-request observability: request ids, Prometheus metrics and the ``Server-Timing`` header.

:class:`RequestIds` gives each request an id (the client's ``X-Request-ID`` when it is sane)
that every log line of the request carries and the response returns. :class:`Instrumentation`
wraps each request in a statement-accounting block (:func:`conduit.db.instrument.track`), so
every unit of work the request opens is counted.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.db.instrument import track
from conduit.db.replicas import ReplicaSet
from conduit.log import request_id

UNMATCHED_ROUTE = "<unmatched>"
REQUEST_ID_HEADER = b"x-request-id"
# A client's id is logged verbatim: no spaces, quotes or control characters that could forge or
# break a log line, and short enough to index.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


class RequestMetrics:
    """The service's own metrics, on a registry of its own (one per application)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.latency = Histogram(
            "conduit_http_request_duration_seconds",
            "Request latency by route template and method.",
            ["method", "route"],
            registry=registry,
        )
        self.responses = Counter(
            "conduit_http_responses",
            "Responses by route template, method and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.statements = Histogram(
            "conduit_db_statements_per_request",
            "SQL statements sent while serving one request.",
            ["method", "route"],
            buckets=(0, 1, 2, 3, 4, 5, 8, 13, 21, 50, 100),
            registry=registry,
        )
        self.reads = Counter(
            "conduit_db_reads",
            "Read-only units of work (GET requests) by the server that served them: "
            "primary, or a replica's host:port.",
            ["target"],
            registry=registry,
        )


class PoolCollector(Collector):
    """Connection pool gauges, read from the engine at scrape time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        pool = self.engine.pool
        for name, doc, reader in (
            ("size", "Connections the pool keeps open.", "size"),
            ("checked_out", "Connections in use right now.", "checkedout"),
            ("overflow", "Connections open beyond the pool size.", "overflow"),
        ):
            read = getattr(pool, reader, None)
            if callable(read):
                value = float(read())
                if name == "overflow":
                    # QueuePool counts from -pool_size up: negative until the pool has filled.
                    value = max(value, 0.0)
                yield GaugeMetricFamily(f"conduit_db_pool_{name}", doc, value=value)


class ReplicaCollector(Collector):
    """Each replica's state as the background check last found it, read at scrape time.

    Without replicas it collects nothing.
    """

    def __init__(self, replicas: ReplicaSet | None) -> None:
        self.replicas = replicas

    def collect(self) -> Iterable[Metric]:
        if self.replicas is None:
            return
        healthy = GaugeMetricFamily(
            "conduit_db_replica_healthy",
            "1 while a replica is in the read rotation (reachable, lag within the limit).",
            labels=["target"],
        )
        lag = GaugeMetricFamily(
            "conduit_db_replica_lag_seconds",
            "A replica's replay lag behind the primary at the last check.",
            labels=["target"],
        )
        for replica in self.replicas.replicas:
            healthy.add_metric([replica.name], 1.0 if replica.state.healthy else 0.0)
            if replica.state.lag_s is not None:
                lag.add_metric([replica.name], replica.state.lag_s)
        yield healthy
        yield lag
        yield CounterMetricFamily(
            "conduit_db_replica_checks",
            "Rounds of the replicas' background check completed.",
            value=float(self.replicas.rounds),
        )


class Instrumentation:
    """Times each request, counts its statements, and reports both."""

    def __init__(
        self, app: ASGIApp, *, metrics: RequestMetrics | None, server_timing: bool
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.server_timing = server_timing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.metrics is None and not self.server_timing):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        with track() as stats:

            async def send_with_timing(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if self.server_timing:
                        value = f'db;dur={stats.seconds * 1000:.2f};desc="{stats.count} statements"'
                        headers = list(message.get("headers", []))
                        headers.append((b"server-timing", value.encode("latin-1")))
                        message = {**message, "headers": headers}
                await send(message)

            try:
                await self.app(scope, receive, send_with_timing)
            finally:
                if self.metrics is not None:
                    route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
                    method = scope["method"]
                    self.metrics.latency.labels(method, route).observe(
                        time.perf_counter() - started
                    )
                    self.metrics.responses.labels(method, route, str(status)).inc()
                    self.metrics.statements.labels(method, route).observe(stats.count)


class RequestIds:
    """Names each request: every log record emitted while it is handled carries the id.

    The id is the request's ``X-Request-ID`` when that is up to 128 letters, digits or
    ``.``, ``_``, ``:``, ``-``, and a new random one otherwise; the response returns it in
    ``X-Request-ID``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == REQUEST_ID_HEADER), b"")
        value = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex.encode("ascii")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, header)
                    for name, header in message.get("headers", [])
                    if name.lower() != REQUEST_ID_HEADER
                ]
                headers.append((REQUEST_ID_HEADER, value))
                message = {**message, "headers": headers}
            await send(message)

        token = request_id.set(value.decode("ascii"))
        await self.app(scope, receive, send_with_id)
        # Not reset when the app raises: the handlers outside every middleware (Starlette's 500
        # handler, the server's error and access logs) log the failure after it, and the id is
        # still this request's. The server runs each request in a task of its own, whose
        # context ends with it.
        request_id.reset(token)
