"""The service's Prometheus metrics: per request (observed by
:class:`conduit.http.middleware.RequestEnvelope`), and the pool's and replicas' gauges, read at
scrape time."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.db.replicas import ReplicaSet


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
        # Each label set's children, looked up once: ``labels()`` validates and locks each time.
        self._per_route: dict[tuple[str, str], tuple[Histogram, Histogram]] = {}
        self._per_status: dict[tuple[str, str, int], Counter] = {}
        self._per_target: dict[str, Counter] = {}

    def observe_read(self, target: str) -> None:
        """One read-only unit of work, served by ``target``."""
        reads = self._per_target.get(target)
        if reads is None:
            reads = self._per_target[target] = self.reads.labels(target)
        reads.inc()

    def observe(
        self, method: str, route: str, status: int, seconds: float, statements: int
    ) -> None:
        """One request served: its latency, its response's status, the statements it sent."""
        per_route = self._per_route.get((method, route))
        if per_route is None:
            per_route = self._per_route[(method, route)] = (
                self.latency.labels(method, route),
                self.statements.labels(method, route),
            )
        latency, sent = per_route
        latency.observe(seconds)
        sent.observe(statements)
        responses = self._per_status.get((method, route, status))
        if responses is None:
            responses = self._per_status[(method, route, status)] = self.responses.labels(
                method, route, str(status)
            )
        responses.inc()


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
