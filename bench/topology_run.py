"""Conduit on its production topology (scripts/topology.sh): read throughput through HAProxy with
0, 1 and 2 streaming replicas, replica lag under a write load, and the timings of a failover.

    .venv/bin/python bench/topology_run.py                     # the full run (about 8 minutes)
    .venv/bin/python bench/topology_run.py --replicas 0 --rounds 1 --seconds 3 --no-failover

Everything runs on this machine: the topology's own PostgreSQL clusters (started with initdb on
free loopback ports, stopped at the end), PgBouncer, the instances, HAProxy and wrk. The report
goes to bench/results/<date>/topology.md (+ .json); runs with other options than the defaults
write ``<date>-topology-partial.tmp`` instead. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import cpu, dataset, machine, targets, wrk
from harness.common import RESULTS, ROOT, say

# scripts/ is a namespace package at the checkout's root, shared with the tests.
sys.path.insert(0, str(ROOT))
from scripts import failover_load
from scripts import topology as topo

PATHS = ("list", "article")
BASE_PORT = 18_300
SPEC = dataset.DataSpec("topology", users=2_000, articles=10_000, favorites=20_000, follows=10_000)
# The failover phase: the promotion follows the kill after GAP_S, as an HA manager's detection
# would. Each write in the gap is bounded by the default request deadline.
GAP_S = 2.0


@dataclass
class Throughput:
    replicas: int
    path: str
    runs: list[wrk.Run] = field(default_factory=list)
    # CPU seconds per second of each kind of process over the recorded rounds (2.0 = both cores).
    cpu: dict[str, float] = field(default_factory=dict)
    # Transactions each PostgreSQL server committed over the recorded rounds.
    transactions: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return statistics.median(run.rps for run in self.runs)


@dataclass
class Lag:
    replicas: int
    seconds: float
    writes_rps: float
    # Per replica: samples of (replay lag ms, bytes behind) while the write load ran.
    samples: dict[str, list[tuple[float, int]]] = field(default_factory=dict)


@dataclass
class Failover:
    writes: int
    statuses: dict[int, int]
    acknowledged: int
    lost: int
    last_ack_before_kill_s: float | None  # the kill minus the last 201 that finished before it
    promote_s: float  # the kill to pg_ctl promote returning
    first_success_s: float | None  # promote returned to the first 201 of a later write
    unavailable_s: float | None  # last 201 before the kill to the first 201 after the promotion


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="0,1,2", help="replica counts to measure")
    parser.add_argument("--instances", type=int, default=2, help="conduit serve processes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--lag-seconds", type=float, default=20.0)
    parser.add_argument("--no-failover", action="store_true")
    parser.add_argument("--base-port", type=int, default=BASE_PORT)
    parser.add_argument("--out", type=Path, help="report path (default bench/results/...)")
    return parser.parse_args()


@contextmanager
def running(options: topo.Options) -> Iterator[topo.Topology]:
    say(f"topology up: {options.replicas} replica(s), {options.instances} instance(s)")
    topology = topo.up(options)
    try:
        yield topology
    finally:
        topo.down(Path(topology.dir), quiet=True)


def scratch(name: str) -> Path:
    # Under /tmp, not a private temp dir: the postgres account runs the servers and enters it.
    return Path(tempfile.gettempdir()) / f"conduit-bench-{name}-{uuid.uuid4().hex[:8]}"


def options(args: argparse.Namespace, replicas: int, **more: Any) -> topo.Options:
    fields: dict[str, Any] = {
        "directory": scratch(f"r{replicas}"),
        "replicas": replicas,
        "instances": args.instances,
        "base_port": args.base_port,
        "env": (("LOG_LEVEL", "WARNING"),),
    }
    return topo.Options(**(fields | more))


def primary_sql(topology: topo.Topology, sql: str) -> list[list[str]]:
    return topo.psql(topology.part("primary").port, sql, database=topology.database)


def caught_up(topology: topo.Topology, deadline_s: float = 120.0) -> None:
    """Wait until every replica has replayed all the primary has written."""
    sql = (
        "SELECT count(*) FROM pg_stat_replication "
        "WHERE replay_lsn IS DISTINCT FROM pg_current_wal_lsn()"
    )
    deadline = time.monotonic() + deadline_s
    while primary_sql(topology, sql) != [["0"]]:
        if time.monotonic() > deadline:
            raise RuntimeError("the replicas did not catch up")
        time.sleep(0.2)


def seed(topology: topo.Topology) -> list[targets.Target]:
    say(f"seeding {SPEC.describe()}")
    dataset.conduit("db", "seed", *SPEC.seed_arguments(), url=topology.direct_url)
    asyncio.run(dataset.vacuum(topology.direct_url))
    caught_up(topology)
    picks = asyncio.run(targets.pick(topology.direct_url))
    return targets.targets(picks, targets.token(picks.reader_id, topology.secret_key))


def cpu_by_process(topology: topo.Topology) -> dict[tuple[str, int], float]:
    """CPU seconds so far of every process of the topology, by (kind, pid).

    Compared per process: a backend that started during a round counts from zero, one that
    ended is left out (its CPU is lost, a small undercount), so no difference goes negative.
    """
    found: dict[tuple[str, int], float] = {}
    for part in topology.parts:
        pid = topo.running_pid(part)
        if pid is not None:
            kind = "postgres" if part.kind in ("primary", "replica") else part.kind
            for child in cpu.tree(pid):
                found[kind, child] = cpu.seconds([child])
    return found


def committed(topology: topo.Topology) -> dict[str, int]:
    sql = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
    return {
        part.name: int(topo.psql(part.port, sql, database=topology.database)[0][0])
        for part in topology.parts
        if part.kind in ("primary", "replica")
    }


def throughput(
    topology: topo.Topology, chosen: list[targets.Target], args: argparse.Namespace, replicas: int
) -> list[Throughput]:
    results = [Throughput(replicas, target.name) for target in chosen]
    for target in chosen:  # unrecorded warm-up: pools, prepared statements, caches
        wrk.run(topology.app_url, target, seconds=2, connections=args.connections, threads=2)
    for round_ in range(1, args.rounds + 1):
        for result, target in zip(results, chosen, strict=True):
            before = cpu_by_process(topology)
            commits = committed(topology)
            started = time.monotonic()
            run = wrk.run(
                topology.app_url,
                target,
                seconds=args.seconds,
                connections=args.connections,
                threads=2,
            )
            elapsed = time.monotonic() - started
            for (kind, pid), seconds in cpu_by_process(topology).items():
                used = (seconds - before.get((kind, pid), 0.0)) / elapsed / args.rounds
                result.cpu[kind] = result.cpu.get(kind, 0.0) + used
            for name, count in committed(topology).items():
                result.transactions[name] = result.transactions.get(name, 0) + count - commits[name]
            result.runs.append(run)
            say(
                f"{replicas} replica(s), {target.name}, round {round_}: {run.rps:,.0f} req/s "
                f"(p99 {run.p99_ms:.0f} ms, {run.status_errors + run.socket_errors} errors)"
            )
            time.sleep(1)
    return results


_LAG = """
SELECT application_name,
       coalesce(extract(epoch FROM replay_lag) * 1000, 0),
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)
FROM pg_stat_replication ORDER BY application_name
"""


def lag(topology: topo.Topology, create: targets.Target, args: argparse.Namespace) -> Lag:
    """pg_stat_replication sampled every 250 ms while wrk creates articles through HAProxy."""
    result = Lag(len(topology.replica_urls), args.lag_seconds, 0.0)
    done = threading.Event()

    def load() -> None:
        run = wrk.run(topology.app_url, create, seconds=args.lag_seconds, connections=8, threads=2)
        result.writes_rps = run.rps
        done.set()

    writer = threading.Thread(target=load)
    writer.start()
    while not done.is_set():
        for name, lag_ms, behind in primary_sql(topology, _LAG):
            result.samples.setdefault(name, []).append((float(lag_ms), int(float(behind))))
        time.sleep(0.25)
    writer.join()
    say(f"lag: {result.writes_rps:,.0f} writes/s; {summarise_lag(result)}")
    return result


def summarise_lag(result: Lag) -> dict[str, dict[str, float]]:
    summary = {}
    for name, samples in result.samples.items():
        ms = sorted(sample[0] for sample in samples)
        behind = sorted(sample[1] for sample in samples)
        summary[name] = {
            "samples": len(samples),
            "lag_ms_median": statistics.median(ms),
            "lag_ms_p95": ms[int(len(ms) * 0.95)],
            "lag_ms_max": ms[-1],
            "bytes_median": statistics.median(behind),
            "bytes_max": behind[-1],
        }
    return summary


def failover(args: argparse.Namespace) -> Failover:
    """The failover of tests/integration/test_failover.py, through HAProxy, timed."""
    primary_port, replica_port = args.base_port + 2, args.base_port + 3
    hosts = f"{topo.HOST}:{primary_port},{topo.HOST}:{replica_port}"
    env = (
        ("LOG_LEVEL", "WARNING"),
        ("DATABASE_URL", f"postgresql://postgres@{hosts}/conduit?target_session_attrs=read-write"),
        ("DB_PGBOUNCER", "false"),
        ("DATABASE_REPLICA_URLS", ""),
        ("DB_CONNECT_TIMEOUT", "2"),
    )
    chosen = options(args, 1, sync=True, instances=1, env=env, directory=scratch("failover"))
    with running(chosen) as topology:
        primary, replica = topology.part("primary"), topology.part("replica1")
        pid = topo.running_pid(primary)
        assert pid is not None
        promoted: list[float] = []

        async def promote_after_the_gap() -> float:
            await asyncio.sleep(GAP_S)
            await asyncio.to_thread(failover_load.promote, replica)
            promoted.append(time.monotonic())
            return promoted[0]

        name = f"fo{uuid.uuid4().hex[:10]}"
        outcome = asyncio.run(
            failover_load.write_through_failover(
                topology.app_url,
                name,
                load_before_s=3.0,
                fail=lambda: failover_load.crash(pid),
                recover=promote_after_the_gap,
                deadline_s=15.0,
            )
        )
        rows = topo.psql(
            replica.port,
            f"SELECT slug FROM articles WHERE title LIKE '{name} w%'",  # noqa: S608 - our name
            database=topology.database,
        )
    found = {row[0] for row in rows}
    say(f"failover: {outcome.summary(found)}")
    before = [
        w.finished for w in outcome.writes if w.status == 201 and w.finished < outcome.failed_at
    ]
    after = [
        w.finished for w in outcome.writes if w.status == 201 and w.started > outcome.failed_at
    ]
    statuses: dict[int, int] = {}
    for write in outcome.writes:
        statuses[write.status] = statuses.get(write.status, 0) + 1
    return Failover(
        writes=len(outcome.writes),
        statuses=statuses,
        acknowledged=len(outcome.acknowledged),
        lost=len(outcome.acknowledged - found),
        last_ack_before_kill_s=outcome.failed_at - max(before) if before else None,
        promote_s=promoted[0] - outcome.failed_at,
        first_success_s=outcome.first_success_s,
        unavailable_s=min(after) - max(before) if before and after else None,
    )


def num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def markdown(data: dict[str, Any], results: list[Throughput], lags: Lag | None,
             fail: Failover | None) -> str:  # fmt: skip
    lines = [
        f"# Benchmark: Conduit on the topology — {data['date']}",
        "",
        f"`{data['command']}`, started {data['started']} UTC, took {data['minutes']:.1f} min. "
        f"Conduit at commit {data['commit']}.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in data["machine"].items()),
        "",
        f"Busy processes at the start: {', '.join(data['busy']) or 'none'}.",
        "",
        "## Topology",
        "",
        f"scripts/topology.sh's parts on loopback: HAProxy (round robin, health check "
        f"/health/ready) → {data['instances']} x `conduit serve` (1 worker each) → PgBouncer "
        "(transaction mode) → the PostgreSQL 15 primary (fsync off), with 0, 1 or 2 "
        "asynchronous streaming replicas named to the instances in `DATABASE_REPLICA_URLS`. "
        "Each replica count is a fresh topology, seeded with `conduit db seed`: "
        f"{SPEC.describe()}.",
        "",
        f"## Read throughput ({data['connections']} connections, {data['rounds']} round(s) of "
        f"{data['seconds']:g} s through HAProxy)",
        "",
        "req/s, p50 and p99 are medians over the rounds. CPU is in cores (2.0 = the whole "
        "machine), averaged over the recorded rounds; transactions are those each PostgreSQL "
        "server committed in them.",
        "",
        "| path | replicas | req/s | per round | p50 ms | p99 ms | errors | CPU: instances | "
        "postgres | pgbouncer | haproxy | transactions per server |",
        "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in sorted(results, key=lambda r: (r.path, r.replicas)):
        p50 = statistics.median(run.p50_ms for run in r.runs)
        p99 = statistics.median(run.p99_ms for run in r.runs)
        errors = sum(run.status_errors + run.socket_errors for run in r.runs)
        per_round = ", ".join(f"{run.rps:,.0f}" for run in r.runs)
        served = ", ".join(f"{name} {count:,}" for name, count in r.transactions.items())
        lines.append(
            f"| {r.path} | {r.replicas} | **{r.rps:,.0f}** | {per_round} | {p50:.1f} | "
            f"{p99:.1f} | {errors} | {num(r.cpu.get('instance'), 2)} | "
            f"{num(r.cpu.get('postgres'), 2)} | {num(r.cpu.get('pgbouncer'), 2)} | "
            f"{num(r.cpu.get('haproxy'), 2)} | {served} |"
        )
    if lags is not None:
        lines += [
            "",
            f"## Replica lag under writes ({lags.replicas} replica(s))",
            "",
            f"wrk creates articles with 3 tags through HAProxy (8 connections, "
            f"{lags.seconds:g} s): **{lags.writes_rps:,.0f} writes/s**. `pg_stat_replication` "
            "on the primary sampled every 250 ms: `replay_lag`, and the bytes between "
            "`pg_current_wal_lsn()` and `replay_lsn`.",
            "",
            "| replica | samples | replay_lag median ms | p95 ms | max ms | bytes behind median "
            "| max |",
            "|---|--:|--:|--:|--:|--:|--:|",
        ]
        for name, s in summarise_lag(lags).items():
            lines.append(
                f"| {name} | {s['samples']:.0f} | {s['lag_ms_median']:.1f} | "
                f"{s['lag_ms_p95']:.1f} | {s['lag_ms_max']:.1f} | {s['bytes_median']:,.0f} | "
                f"{s['bytes_max']:,.0f} |"
            )
    if fail is not None:
        lines += [
            "",
            "## Failover",
            "",
            "A primary with one synchronous replica; one instance behind HAProxy with both "
            "servers in a multi-host `DATABASE_URL` (`target_session_attrs=read-write`, no "
            "PgBouncer, `DB_CONNECT_TIMEOUT=2`). "
            "Four writers create articles through HAProxy; the primary's postmaster and "
            f"backends get SIGKILL, and {GAP_S:g} s later `pg_ctl promote` runs on the replica "
            "(what an HA manager does after its detection time). Times are from the writers' "
            "clock.",
            "",
            "| | |",
            "|---|---|",
            f"| writes | {fail.writes} ({', '.join(f'{k}: {v}' for k, v in sorted(fail.statuses.items()))}) |",  # noqa: E501
            f"| acknowledged (201) | {fail.acknowledged} |",
            f"| acknowledged but missing on the new primary | **{fail.lost}** |",
            f"| last acknowledged write before the kill | {num(fail.last_ack_before_kill_s, 3)} s before it |",  # noqa: E501
            f"| kill → `pg_ctl promote` returned | {num(fail.promote_s, 2)} s |",
            f"| promote returned → first acknowledged write | **{num(fail.first_success_s, 2)} s** |",  # noqa: E501
            f"| last 201 before → first 201 after (writes unavailable) | {num(fail.unavailable_s, 2)} s |",  # noqa: E501
        ]
    lines += [
        "",
        f"Load average (1, 5, 15 min): {data['load_start']} at the start, "
        + ", ".join(f"{k}: {v}" for k, v in data["load"].items())
        + f", {data['load_end']} at the end.",
        "",
    ]
    return "\n".join(lines)


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found = {k: plain(v) for k, v in dataclasses.asdict(value).items()}
        if isinstance(value, wrk.Run):
            found["rps"] = value.rps
        return found
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def main() -> int:
    args = arguments()
    counts = [int(n) for n in args.replicas.split(",")]
    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    data: dict[str, Any] = {
        "date": started.date().isoformat(),
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "command": "python bench/topology_run.py " + " ".join(sys.argv[1:]),
        # The instances' code: CONDUIT_BIN may name another checkout's .venv/bin/conduit.
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=topo.conduit_bin().parents[2],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
        "machine": asyncio.run(machine.describe("postgresql://postgres@127.0.0.1:5432/postgres")),
        "busy": machine.busy_processes(),
        "load_start": machine.load_average(),
        "load": {},
        "instances": args.instances,
        "connections": args.connections,
        "rounds": args.rounds,
        "seconds": args.seconds,
    }
    # The topology runs its own PostgreSQL; describe() names the shared server's version.
    data["machine"]["PostgreSQL"] = data["machine"]["PostgreSQL"].split(" on ")[0]
    results: list[Throughput] = []
    lags: Lag | None = None
    for replicas in counts:
        with running(options(args, replicas)) as topology:
            chosen = seed(topology)
            by_name = {target.name: target for target in chosen}
            results += throughput(topology, [by_name[p] for p in PATHS], args, replicas)
            data["load"][f"{replicas} replica(s)"] = machine.load_average()
            if replicas == max(counts) and replicas > 0:
                lags = lag(topology, by_name["create"], args)
    fail = None if args.no_failover else failover(args)
    data["load_end"] = machine.load_average()
    data["minutes"] = (time.monotonic() - clock) / 60
    full = not sys.argv[1:]
    # A day's reports share a folder; partial runs stay beside it, where git ignores them.
    out = args.out or (
        RESULTS / data["date"] / "topology.md"
        if full
        else RESULTS / f"{data['date']}-topology-partial.tmp"
    )
    out.parent.mkdir(exist_ok=True)
    out.write_text(markdown(data, results, lags, fail))
    raw = {**data, "throughput": results, "lag": lags, "lag_summary": lags and summarise_lag(lags),
           "failover": fail}  # fmt: skip
    out.with_suffix(".json" if full else ".json.tmp").write_text(
        json.dumps(plain(raw), indent=2) + "\n"
    )
    say(f"report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
