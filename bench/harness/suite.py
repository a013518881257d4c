"""The throughput comparison: every path, Conduit and the baseline alternately, in rounds.

For each round and each path: Conduit, a pause, the baseline, a pause (A B A B ...), so slow
drift in the machine's load reaches both alike and one server's backlog never overlaps the
other's run. Before the first round each server gets a short unrecorded warm-up per path
(prepared statements, caches, JIT of nothing: ``jit=off`` on both). The ratio of a path is the
median of its per-round ratios of requests per second.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness import cpu, wrk
from harness.common import say
from harness.servers import Pair, Server
from harness.targets import Target


@dataclass(frozen=True, slots=True)
class Load:
    rounds: int = 3
    seconds: float = 10.0
    warmup: float = 2.0
    pause: float = 2.0
    connections: int = 32
    threads: int = 2


@dataclass
class PathResult:
    target: Target
    workers: int = 1
    conduit: list[wrk.Run] = field(default_factory=list)
    baseline: list[wrk.Run] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        return [
            c.rps / b.rps if b.rps else 0.0
            for c, b in zip(self.conduit, self.baseline, strict=False)
        ]

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    @staticmethod
    def median(runs: Sequence[wrk.Run], attribute: str) -> float | None:
        values = [v for run in runs if (v := getattr(run, attribute)) is not None]
        return statistics.median(values) if values else None

    @property
    def met(self) -> bool | None:
        if self.target.target is None or self.ratio is None:
            return None
        return self.ratio >= self.target.target

    @property
    def tail_met(self) -> bool | None:
        """Conduit's p99 within 3x its p50 (medians over the rounds)."""
        p50, p99 = self.median(self.conduit, "p50_ms"), self.median(self.conduit, "p99_ms")
        if p50 is None or p99 is None:
            return None
        return p99 <= 3 * p50

    @property
    def errors(self) -> int:
        return sum(r.status_errors + r.socket_errors for r in (*self.conduit, *self.baseline))


def timed(
    server: Server,
    target: Target,
    load: Load,
    database: str,
    backends: Callable[[str], list[int]] = cpu.backends,
) -> wrk.Run:
    """One measured run, with the CPU it cost the server and the database per request.

    ``backends`` names the database server's processes serving ``database``."""
    assert server.process is not None
    app, db = cpu.tree(server.process.pid), backends(database)
    app_before, db_before = cpu.seconds(app), cpu.seconds(db)
    run = wrk.run(server.base, target, seconds=load.seconds,
                  connections=load.connections, threads=load.threads)  # fmt: skip
    db_after = cpu.seconds(backends(database))  # pools may have opened connections
    app_after = cpu.seconds(app)
    if not run.requests:
        return run
    return dataclasses.replace(
        run,
        app_cpu_ms=1000 * (app_after - app_before) / run.requests,
        db_cpu_ms=1000 * (db_after - db_before) / run.requests,
    )


def measure(
    pair: Pair,
    targets: Sequence[Target],
    load: Load,
    *,
    workers: int,
    only_conduit: bool = False,
    backends: Callable[[str], list[int]] = cpu.backends,
) -> list[PathResult]:
    results = [PathResult(t, workers) for t in targets]
    servers = [pair.conduit] if only_conduit else [pair.conduit, pair.baseline]
    if load.warmup > 0:
        for target in targets:
            for server in servers:
                wrk.run(server.base, target, seconds=load.warmup,
                        connections=load.connections, threads=load.threads)  # fmt: skip
        time.sleep(load.pause)
    for round_ in range(load.rounds):
        for result in results:
            for server in servers:
                run = timed(server, result.target, load, pair.database, backends)
                (result.conduit if server is pair.conduit else result.baseline).append(run)
                errors = f", {run.status_errors} non-2xx" if run.status_errors else ""
                say(
                    f"{workers}w round {round_ + 1}/{load.rounds} {result.target.name:<15} "
                    f"{server.name:<8} {run.rps:8.1f} req/s  p50 {run.p50_ms:7.2f} ms  "
                    f"p99 {run.p99_ms:7.2f} ms  cpu/req app {run.app_cpu_ms or 0:5.2f} ms "
                    f"db {run.db_cpu_ms or 0:5.2f} ms{errors}"
                )
                time.sleep(load.pause)
    return results
