"""Per-request observability: Prometheus metrics and the ``Server-Timing`` header.

One pure ASGI middleware wraps each request in a statement-accounting block
(:func:`conduit.db.instrument.track`), so every unit of work the request opens is counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.db.instrument import track
from conduit.db.replicas import ReplicaSet

UNMATCHED_ROUTE = "<unmatched>"


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
                yield GaugeMetricFamily(f"conduit_db_pool_{name}", doc, value=float(read()))


class ReplicaCollector(Collector):
    """Each replica's state as the background check last found it, read at scrape time."""

    def __init__(self, replicas: ReplicaSet) -> None:
        self.replicas = replicas

    def collect(self) -> Iterable[Metric]:
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
