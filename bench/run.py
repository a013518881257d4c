"""Conduit against the raw baseline: throughput per path, the scale curve, a Markdown report.

    .venv/bin/python bench/run.py                    # the full run (about 20 minutes)
    .venv/bin/python bench/run.py --scale            # plus the 10k/100k/1M curve (+ ~15 min)
    .venv/bin/python bench/run.py --quick            # smoke run: 10k articles, 4 paths, 1 x 3 s
    .venv/bin/python bench/run.py --paths list_tag --rounds 1 --seconds 5   # one path, fast
    .venv/bin/python bench/run.py --paths article --profile article         # + py-spy profile
    .venv/bin/python bench/run.py --mysql --size 10k   # Conduit on MySQL beside PostgreSQL

PostgreSQL comes from ``--url``, else ``BENCH_DATABASE_URL``, else postgresql://postgres@
127.0.0.1:5432/. The report goes to bench/results/<date>.md (quick runs, and runs of chosen
paths, to a ``.tmp`` file beside it, which git ignores). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import shlex
import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

from harness import compare, cpu, dataset, machine, mysql, profile, report, scale, suite, targets
from harness.common import BIN, RESULTS, ROOT, dsn, say, secret, server_url
from harness.servers import Config, Pair
from harness.servers import conduit as conduit_server

PORT = 18_100


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL server (the harness creates its databases)")
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s, 10k, 4 paths")
    parser.add_argument("--scale", action="store_true", help="add the scale curve (builds 1M)")
    parser.add_argument("--size", choices=list(dataset.SIZES), help="data set (default 100k)")
    parser.add_argument("--paths", help=f"comma-separated subset of: {', '.join(targets.NAMES)}")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float, help="per run (default 10)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--workers", default="1,2", help="comma-separated worker counts per server (default 1,2)"
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=10,
        help="baseline connections per worker",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip baseline vs minimal server")
    parser.add_argument("--conduit-only", action="store_true", help="no baseline runs, no ratio")
    parser.add_argument("--no-writes", action="store_true", help="skip create and favorite")
    parser.add_argument("--profile", help="comma-separated paths to profile with py-spy")
    parser.add_argument("--scale-sizes", default="10k,100k,1m")
    parser.add_argument("--out", type=Path, help="report path (default bench/results/<date>.md)")
    parser.add_argument(
        "--mysql",
        nargs="?",
        const=mysql.DEFAULT_SERVER,
        metavar="URL",
        help=f"Conduit alone on MySQL/MariaDB (default {mysql.DEFAULT_SERVER}), writes mysql.md",
    )
    parser.add_argument(
        "--no-postgresql", action="store_true", help="with --mysql: no PostgreSQL side by side"
    )
    return parser.parse_args()


def revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "src", "migrations").splitlines()
    return f"commit {head}" + (
        f" with {len(dirty)} uncommitted change(s) under src/ and migrations/" if dirty else ""
    )


def load_of(args: argparse.Namespace) -> suite.Load:
    quick = args.quick
    return suite.Load(
        rounds=args.rounds or (1 if quick else 3),
        seconds=args.seconds or (3.0 if quick else 10.0),
        warmup=1.0 if quick else 2.0,
        pause=1.0 if quick else 2.0,
        connections=args.connections,
    )


def drift(workers: int, url: str) -> report.Drift:
    """``conduit db recount --check`` on the database the writes ran on: the kept counts exact?"""
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(  # noqa: S603 - our own CLI
        [str(BIN / "conduit"), "db", "recount", "--check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return report.Drift(workers, done.returncode, (done.stdout + done.stderr).strip())


class Bench:
    """One invocation: its options, the report it fills, and the servers it starts."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.server = server_url(args.url)
        self.key = secret()
        self.worker_counts = [int(n) for n in args.workers.split(",")]
        self.config = Config(workers=self.worker_counts[0], pool=args.pool)
        self.load = load_of(args)
        now = dt.datetime.now(dt.UTC)
        partial = args.quick or bool(args.paths)
        # A full run fills bench/results/<date>/ (report, numbers, charts); a partial one writes
        # a .tmp directory beside it, which git ignores.
        name = f"{now:%Y-%m-%d}" + ("-partial.tmp" if partial else "")
        self.out: Path = args.out or RESULTS / name / "report.md"
        self.run = report.Run(
            command="python bench/run.py " + shlex.join(sys.argv[1:]),
            started=f"{now:%Y-%m-%d %H:%M} UTC",
            revision=revision(),
            load_before=machine.load_average(),
            busy=machine.busy_processes(),
            config=self.config,
            worker_counts=self.worker_counts,
            load=self.load,
        )

    def pair(self, url: str, workers: int | None = None) -> AbstractContextManager[Pair]:
        config = Config(workers=workers or self.config.workers, pool=self.config.pool)
        return Pair.conduit_and_baseline(
            url, config=config, secret=self.key, logs=RESULTS / "logs.tmp", port=PORT
        )

    def chosen(self, every: list[targets.Target]) -> list[targets.Target]:
        names = self.args.paths.split(",") if self.args.paths else None
        if names is None and self.args.quick:
            names = list(targets.QUICK)
        unknown = set(names or ()) - {t.name for t in every}
        if unknown:
            raise SystemExit(f"unknown paths: {', '.join(sorted(unknown))}")
        picked = [t for t in every if names is None or t.name in names]
        return [t for t in picked if not (t.write and self.args.no_writes)]

    async def throughput(self) -> None:
        args, run = self.args, self.run
        spec = dataset.SIZES[args.size or ("10k" if args.quick else "100k")]
        run.built = await dataset.ensure(self.server, spec)
        run.machine = await machine.describe(run.built.url)
        picks = run.picks = await targets.pick(run.built.url)
        self.token = targets.token(picks.reader_id, self.key)
        every = targets.targets(picks, self.token)
        selected = self.chosen(every)
        profiled = [t for t in every if args.profile and t.name in args.profile.split(",")]
        reads = [t for t in selected if not t.write]
        writes = [t for t in selected if t.write]
        for workers in self.worker_counts:
            first = workers == self.worker_counts[0]
            await self.phase(spec, workers, reads, writes, profiled if first else [], check=first)
        if not args.no_floor and any(t.name == "article" for t in every):
            self.floor(next(t for t in every if t.name == "article"))

    async def phase(
        self,
        spec: dataset.DataSpec,
        workers: int,
        reads: list[targets.Target],
        writes: list[targets.Target],
        profiled: list[targets.Target],
        *,
        check: bool,
    ) -> None:
        """Every chosen path with ``workers`` workers per server; equivalence once (``check``)."""
        run, args = self.run, self.args
        assert run.built is not None
        assert run.picks is not None
        if reads or profiled:
            with self.pair(run.built.url, workers) as pair:
                if check:
                    say("equivalence: reads")
                    run.outcomes += await compare.compare_reads(
                        pair.conduit.base, pair.baseline.base, run.picks, self.token, spec.articles
                    )
                run.results += suite.measure(
                    pair, reads, self.load, workers=workers, only_conduit=args.conduit_only
                )
                self.profile(pair, [t for t in profiled if not t.write])
        if writes or any(t.write for t in profiled):
            # On a copy: the data set stays as seeded for the next run.
            async with dataset.scratch_copy(self.server, spec) as scratch:
                with self.pair(scratch, workers) as pair:
                    if check:
                        say("equivalence: writes")
                        run.outcomes += await compare.compare_writes(
                            pair.conduit.base, pair.baseline.base, run.picks, self.token
                        )
                    run.results += suite.measure(
                        pair, writes, self.load, workers=workers, only_conduit=args.conduit_only
                    )
                    self.profile(pair, [t for t in profiled if t.write])
                run.drift.append(drift(workers, scratch))

    def floor(self, article: targets.Target) -> None:
        """The baseline against the minimal one-route server, single article, one worker."""
        assert self.run.built is not None
        with Pair.baseline_and_minimal(
            self.run.built.url,
            config=Config(workers=1, pool=self.config.pool),
            secret=self.key,
            logs=RESULTS / "logs.tmp",
            port=PORT + 2,
            ready_path=article.urls[0],
        ) as pair:
            say("floor: the baseline against the minimal server (single article, 1 worker)")
            plain = dataclasses.replace(article, token=False, headers={})
            self.run.floor = suite.measure(pair, [plain], self.load, workers=1)[0]

    def profile(self, pair: Pair, chosen: list[targets.Target]) -> None:
        for target in chosen:
            say(f"profiling conduit on {target.name}")
            found = profile.record(
                pair.conduit, target, seconds=self.load.seconds, connections=self.load.connections
            )
            if found is not None:
                self.run.profiles.append(found)

    async def scale(self) -> None:
        sizes = self.args.scale_sizes.split(",")
        quick = self.args.quick
        plans = self.out.parent / scale.PLANS
        plans.parent.mkdir(parents=True, exist_ok=True)
        plans.unlink(missing_ok=True)
        self.run.scale = await scale.curve(
            self.server,
            sizes,
            pair_for=self.pair,
            token_for=lambda user_id: targets.token(user_id, self.key),
            seconds=2.0 if quick else 5.0,
            out=plans,
        )
        self.run.seed_articles = 10_000 if quick else 100_000
        self.run.seeding = scale.seed_vs_copy(self.server, self.run.seed_articles, rounds=1)
        largest = dataset.SIZES[sizes[-1]]
        self.run.export_articles = largest.articles
        self.run.export = scale.export_rss(dsn(self.server, largest.database))

    def finish(self, started: float) -> None:
        run = self.run
        different = [o for o in run.outcomes if o.verdict == compare.DIFFERENT]
        if different:
            run.notes.append(
                f"**Warning: {len(different)} answers differ between the servers** (see "
                "Equivalence): the comparison of those paths is not like for like."
            )
        run.load_after = machine.load_average()
        run.minutes = (time.monotonic() - started) / 60
        report.write(run, self.out)
        shown = self.out.relative_to(ROOT) if self.out.is_relative_to(ROOT) else self.out
        say(f"report: {shown}")


class MySQLBench(Bench):
    """``--mysql``: Conduit alone on MySQL, beside Conduit on PostgreSQL on the same size."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.mysql_server = mysql.server_url(args.mysql)
        self.out = args.out or self.out.with_name("mysql.md")
        self.rep = mysql.Report(
            command=self.run.command,
            started=self.run.started,
            revision=self.run.revision,
            load=self.load,
            worker_counts=self.worker_counts,
            load_before=self.run.load_before,
            busy=self.run.busy,
        )
        if not args.no_postgresql:
            self.rep.postgresql = mysql.Side("PostgreSQL")

    def alone(self, url: str, workers: int, database: str) -> mysql.Alone:
        config = Config(workers=workers, pool=self.config.pool)
        logs = RESULTS / "logs.tmp"
        logs.mkdir(parents=True, exist_ok=True)
        server = conduit_server(url, port=PORT, config=config, secret=self.key, logs=logs)
        return mysql.Alone(server, database=database)

    async def side(self, side: mysql.Side, spec: dataset.DataSpec) -> None:
        on_mysql = side is self.rep.mysql
        if on_mysql:
            side.built = await mysql.ensure(self.mysql_server, spec)
            side.picks = await mysql.pick(side.built.url)
        else:
            side.built = await dataset.ensure(self.server, spec)
            side.picks = await targets.pick(side.built.url)
        token = targets.token(side.picks.reader_id, self.key)
        selected = self.chosen(targets.targets(side.picks, token))
        reads = [t for t in selected if not t.write]
        writes = [t for t in selected if t.write]
        db_cpu = cpu.mysql_server if on_mysql else cpu.backends
        for workers in self.worker_counts:
            if reads:
                with self.alone(side.built.url, workers, spec.database) as alone:
                    side.results += suite.measure(
                        alone, reads, self.load, workers=workers, only_conduit=True, backends=db_cpu
                    )
            if writes:
                copy = (
                    mysql.scratch_copy(self.mysql_server, spec)
                    if on_mysql
                    else dataset.scratch_copy(self.server, spec)
                )
                async with copy as scratch:
                    with self.alone(scratch, workers, f"{spec.database}_writes") as alone:
                        side.results += suite.measure(
                            alone,
                            writes,
                            self.load,
                            workers=workers,
                            only_conduit=True,
                            backends=db_cpu,
                        )
                    found = drift(workers, scratch)
                    verdict = "exact" if found.status == 0 else "DRIFT"
                    side.drift.append(f"{workers} worker(s): {verdict}: {found.output}")

    async def measure(self, started: float) -> None:
        rep = self.rep
        spec = dataset.SIZES[self.args.size or ("10k" if self.args.quick else "100k")]
        await self.side(rep.mysql, spec)
        rep.machine = {"MySQL": await mysql.version(self.mysql_server)}
        if rep.postgresql is not None:
            await self.side(rep.postgresql, spec)
            assert rep.postgresql.built is not None
            rep.machine = {**await machine.describe(rep.postgresql.built.url), **rep.machine}
        rep.minutes = (time.monotonic() - started) / 60
        mysql.write(rep, self.out)
        say(f"report: {self.out}")


async def main() -> int:
    # A SIGTERM unwinds like an exception, so the servers' context managers stop them.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    args = arguments()
    if args.mysql:
        await MySQLBench(args).measure(started)
        return 0
    bench = Bench(args)
    await bench.throughput()
    if bench.args.scale:
        await bench.scale()
    bench.finish(started)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
