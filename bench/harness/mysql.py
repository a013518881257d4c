"""Conduit on MySQL/MariaDB: the data set, the picked values, and a report beside PostgreSQL's.

There is no raw baseline on MySQL: Conduit runs alone on its default settings, on the same
data set spec as on PostgreSQL (built by ``conduit db seed``), and, unless told not to, Conduit
on PostgreSQL runs the same paths under the same load on the same size, so the report can give
the ratio MySQL ÷ PostgreSQL per path.

The data set lives in ``conduit_bench_<size>`` on the MySQL server; the database's comment
(``ALTER DATABASE ... COMMENT``, MariaDB 10.5 and later) records the spec, written last, as on
PostgreSQL. The write paths run on a copy: a database migrated to head, then filled with
``INSERT ... SELECT`` from the data set (MySQL has no ``CREATE DATABASE ... TEMPLATE``).
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from harness import dataset, machine
from harness.common import say
from harness.report import num
from harness.servers import Pair, Server
from harness.suite import Load, PathResult
from harness.targets import ROTATION, Picks

DEFAULT_SERVER = "mysql://root@127.0.0.1:3306/"
TABLES = ("users", "articles", "favorites", "follows", "tags", "article_tags")


def server_url(raw: str | None) -> URL:
    """The MySQL server: ``raw``, else the local MariaDB."""
    return make_url(raw or DEFAULT_SERVER).set(drivername="mysql", database=None)


def database_url(server: URL, database: str) -> str:
    """What ``DATABASE_URL`` takes (Conduit picks its own driver for ``mysql://``)."""
    return server.set(database=database).render_as_string(hide_password=False)


@asynccontextmanager
async def connect(url: str | URL) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(
        make_url(url).set(drivername="mysql+aiomysql"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def _comment(server: URL, database: str) -> str | None:
    async with connect(server) as conn:
        found = await conn.execute(
            text("SELECT schema_comment FROM information_schema.schemata WHERE schema_name = :d"),
            {"d": database},
        )
        return found.scalar_one_or_none()


async def counts(url: str) -> dict[str, int]:
    async with connect(url) as conn:
        return {
            t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()  # noqa: S608
            for t in TABLES
        }


async def ensure(server: URL, spec: dataset.DataSpec) -> dataset.Built:
    """The data set ``spec`` on the MySQL ``server``, built unless a fitting one is there."""
    started = time.perf_counter()
    url = database_url(server, spec.database)
    if await _comment(server, spec.database) == spec.marker:
        dataset.conduit("migrate", "upgrade", url=url)
        found = await counts(url)
        if all(found[t] == getattr(spec, t) for t in ("users", "articles", "favorites", "tags")):
            say(f"mysql data set {spec.size}: reusing {spec.database}")
            return dataset.Built(spec, url, True, time.perf_counter() - started, None)
        say(f"mysql data set {spec.size}: counts changed ({found}), rebuilding")
    say(f"mysql data set {spec.size}: building {spec.database} ({spec.describe()})")
    async with connect(server) as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{spec.database}`"))
        await conn.execute(text(f"CREATE DATABASE `{spec.database}` CHARACTER SET utf8mb4"))
    dataset.conduit("migrate", "upgrade", url=url)
    report = json.loads(dataset.conduit("db", "seed", "--json", *spec.seed_arguments(), url=url))
    async with connect(server) as conn:
        await conn.execute(
            text(f"ALTER DATABASE `{spec.database}` COMMENT = :c"), {"c": spec.marker}
        )
    seconds = time.perf_counter() - started
    say(f"mysql data set {spec.size}: built in {seconds:.0f}s")
    return dataset.Built(spec, url, False, seconds, report)


@asynccontextmanager
async def scratch_copy(server: URL, spec: dataset.DataSpec) -> AsyncIterator[str]:
    """A copy of the data set for the write paths: migrated schema, rows copied; dropped after."""
    name = f"{spec.database}_writes"
    url = database_url(server, name)
    async with connect(server) as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        dataset.conduit("migrate", "upgrade", url=url)
        async with connect(url) as conn:
            found = await conn.execute(
                text(
                    "SELECT table_name, group_concat(concat('`', column_name, '`') "
                    "ORDER BY ordinal_position) FROM information_schema.columns "
                    "WHERE table_schema = :d AND extra NOT LIKE '%GENERATED%' "
                    "AND table_name <> 'alembic_version' GROUP BY table_name"
                ),
                {"d": spec.database},
            )
            columns = dict(found.all())
            await conn.execute(text("SET SESSION foreign_key_checks = 0"))
            for table, names in columns.items():
                # Migrations may seed rows (the counters): the data set's replace them.
                await conn.execute(text(f"DELETE FROM `{table}`"))  # noqa: S608
                await conn.execute(
                    text(
                        f"INSERT INTO `{table}` ({names}) "  # noqa: S608 - names from the catalog
                        f"SELECT {names} FROM `{spec.database}`.`{table}`"
                    )
                )
            await conn.execute(text(f"ANALYZE TABLE {', '.join(f'`{t}`' for t in columns)}"))
        yield url
    finally:
        async with connect(server) as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))


def _uuid(value: Any) -> uuid.UUID:
    """A key as the MySQL driver returns it: 16 bytes (compact) or its text form."""
    if isinstance(value, bytes | bytearray) and len(value) == 16:
        return uuid.UUID(bytes=bytes(value))
    return uuid.UUID(value.decode() if isinstance(value, bytes | bytearray) else str(value))


async def pick(url: str) -> Picks:
    """The values of :func:`harness.targets.pick`, by the same rules, in MySQL's SQL."""
    async with connect(url) as conn:

        async def row(sql: str, **params: Any) -> Any:
            return (await conn.execute(text(sql), params)).one()

        async def column(sql: str, **params: Any) -> list[str]:
            return list((await conn.execute(text(sql), params)).scalars())

        followers = (
            await conn.execute(text("SELECT count(DISTINCT follower_id) FROM follows"))
        ).scalar_one()
        reader = await row(
            """
            SELECT u.id, u.username, count(*) AS n
            FROM follows f JOIN users u ON u.id = f.follower_id
            GROUP BY u.id, u.username ORDER BY n, u.username LIMIT 1 OFFSET :o
            """,
            o=followers // 2,
        )
        tagged = """
            SELECT t.name, count(*) AS n FROM article_tags at JOIN tags t ON t.id = at.tag_id
            JOIN articles a ON a.id = at.article_id WHERE a.deleted_at IS NULL
            GROUP BY t.name ORDER BY {order}, t.name LIMIT 1
        """
        tag = await row(tagged.format(order="n DESC"))
        rare = await row(tagged.format(order="abs(count(*) - 10)"))
        author = await row(
            """
            SELECT u.username, count(*) AS n FROM articles a JOIN users u ON u.id = a.author_id
            WHERE a.deleted_at IS NULL GROUP BY u.username ORDER BY n DESC, u.username LIMIT 1
            """
        )
        fan = await row(
            """
            SELECT u.username, count(*) AS n FROM favorites f JOIN users u ON u.id = f.user_id
            GROUP BY u.username ORDER BY n DESC, u.username LIMIT 1
            """
        )
        slugs = await column(
            """
            SELECT slug FROM (SELECT slug, row_number() OVER (ORDER BY created_at, id) AS i,
                                     count(*) OVER () AS n
                              FROM articles WHERE deleted_at IS NULL) s
            WHERE i % greatest(n DIV :r, 1) = 0 ORDER BY i LIMIT :r
            """,
            r=ROTATION,
        )
        usernames = await column(
            """
            SELECT username FROM (SELECT username, row_number() OVER (ORDER BY username) AS i,
                                         count(*) OVER () AS n FROM users) s
            WHERE i % greatest(n DIV :r, 1) = 0 ORDER BY i LIMIT :r
            """,
            r=ROTATION,
        )
    return Picks(
        reader_id=_uuid(reader.id),
        reader=reader.username,
        reader_follows=reader.n,
        tag=tag.name,
        tag_articles=tag.n,
        rare_tag=rare.name,
        rare_tag_articles=rare.n,
        author=author.username,
        author_articles=author.n,
        fan=fan.username,
        fan_favorites=fan.n,
        slugs=slugs,
        usernames=usernames,
    )


async def version(server: URL) -> str:
    async with connect(server) as conn:
        found = await conn.execute(text("SELECT version()"))
        return str(found.scalar_one())


class Alone(Pair):
    """Conduit by itself (no baseline on MySQL); ``suite.measure(..., only_conduit=True)``."""

    def __init__(self, server: Server, *, database: str) -> None:
        super().__init__(server, server, database=database)

    def __enter__(self) -> Alone:
        say(f"starting {self.conduit.name} on :{self.conduit.port} ({self.database})")
        try:
            self.conduit.start()
        except BaseException:
            self.conduit.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conduit.stop()


@dataclass
class Side:
    """One database's run: its data set, the values picked, the results, the recount."""

    dialect: str
    built: dataset.Built | None = None
    picks: Picks | None = None
    results: list[PathResult] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)


@dataclass
class Report:
    command: str
    started: str
    revision: str
    load: Load
    worker_counts: list[int]
    load_before: str
    busy: list[str]
    machine: dict[str, str] = field(default_factory=dict)
    mysql: Side = field(default_factory=lambda: Side("MySQL"))
    postgresql: Side | None = None
    load_after: str = ""
    minutes: float = 0.0


def _median(results: Sequence[PathResult], name: str, workers: int, attr: str) -> float | None:
    for r in results:
        if r.target.name == name and r.workers == workers:
            return r.median(r.conduit, attr)
    return None


PG_HEAD = " PostgreSQL req/s | p50 ms | p99 ms | app | db | MySQL ÷ PostgreSQL |"
COLUMNS = (("rps", 1), ("p50_ms", 2), ("p99_ms", 2), ("app_cpu_ms", 2), ("db_cpu_ms", 2))


def markdown(rep: Report) -> str:
    my, pg = rep.mysql, rep.postgresql
    assert my.built is not None
    load = rep.load
    lines = [
        "# Conduit on MySQL/MariaDB",
        "",
        f"Run {rep.started}, {rep.revision}, {rep.minutes:.1f} min: `{rep.command}`.",
        "",
        "Conduit alone (no raw baseline on MySQL; no target yet), on its default settings, "
        f"{load.connections} connections from wrk, {load.rounds} round(s) of {load.seconds:g} s "
        f"per path after a {load.warmup:g} s warm-up"
        + (
            ", then Conduit on PostgreSQL with the same paths, load and data set spec."
            if pg
            else "."
        )
        + " Writes ran on a throwaway copy of each data set.",
        "",
        f"- Data set: {my.built.spec.describe()}",
        f"- Load average before: {rep.load_before}; after: {rep.load_after}. "
        + (f"Busy processes at the start: {'; '.join(rep.busy)}." if rep.busy else ""),
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in rep.machine.items()],
        "",
    ]
    for side in (my, pg):
        if side is None or side.picks is None:
            continue
        p = side.picks
        lines.append(
            f"- {side.dialect} values: tag `{p.tag}` ({p.tag_articles}), rare tag "
            f"`{p.rare_tag}` ({p.rare_tag_articles}), author with {p.author_articles} articles, "
            f"fan with {p.fan_favorites} favorites, reader follows {p.reader_follows}"
        )
    for workers in rep.worker_counts:
        names = [r.target.name for r in my.results if r.workers == workers]
        lines += [
            "",
            f"## {workers} worker{'s' if workers > 1 else ''}",
            "",
            "req/s, p50 and p99 are medians over the rounds; app and db are CPU ms per request "
            "(medians): Conduit's processes, and the database: on PostgreSQL the backends "
            "serving the data set, on MySQL the whole server process (its connections are "
            "threads), so whatever else it served during the run counts too.",
            "",
            "| path | MySQL req/s | p50 ms | p99 ms | app | db |" + (PG_HEAD if pg else ""),
            "|---|--:|--:|--:|--:|--:|" + ("--:|--:|--:|--:|--:|--:|" if pg else ""),
        ]
        ratios = []
        for name in names:
            row = [name] + [num(_median(my.results, name, workers, a), d) for a, d in COLUMNS]
            errors = sum(r.errors for r in my.results if r.target.name == name)
            if errors:
                row[0] += f" ⚠ {errors} errors/non-2xx"
            if pg is not None:
                row += [num(_median(pg.results, name, workers, a), d) for a, d in COLUMNS]
                m = _median(my.results, name, workers, "rps")
                q = _median(pg.results, name, workers, "rps")
                ratio = m / q if m and q else None
                if ratio is not None:
                    ratios.append(ratio)
                row.append("—" if ratio is None else f"**{ratio:.2f}x**")
            lines.append("| " + " | ".join(row) + " |")
        if ratios:
            lines += [
                "",
                f"Median MySQL ÷ PostgreSQL over the paths: **{statistics.median(ratios):.2f}x**.",
            ]
    lines += ["", "## Kept counts after the writes (`conduit db recount --check`)", ""]
    for side in (my, pg):
        if side is not None:
            lines += [f"- {side.dialect}: {d}" for d in side.drift]
    lines += [
        "",
        "The machine is shared with other work: compare numbers within this run only.",
        "",
    ]
    return "\n".join(lines)


def latency_chart(rep: Report, path: Path) -> Path:
    """p50 and p99 per path, MySQL beside PostgreSQL, for the first worker count."""
    from harness.charts import plt  # noqa: PLC0415 - matplotlib only when a chart is drawn

    workers = rep.worker_counts[0]
    sides = [s for s in (rep.mysql, rep.postgresql) if s is not None]
    names = [r.target.name for r in rep.mysql.results if r.workers == workers]
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.9), 4.5))
    series = [
        (f"{s.dialect} {label}", [_median(s.results, n, workers, attr) for n in names])
        for s in sides
        for label, attr in (("p50", "p50_ms"), ("p99", "p99_ms"))
    ]
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series):
        ax.bar([n + i * width for n in range(len(names))], [v or 0.0 for v in values], width,
               label=label)  # fmt: skip
    ax.set_xticks([n + 0.4 - width / 2 for n in range(len(names))], names, rotation=30)
    ax.set_yscale("log")
    ax.set_ylabel("ms")
    ax.set_title(f"Conduit latency, {rep.load.connections} connections, {workers} worker(s)")
    ax.legend(fontsize="small", ncols=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(rep: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rep.load_after = machine.load_average()
    if rep.mysql.results:
        latency_chart(rep, path.with_name("mysql-latency.png"))
        text_ = markdown(rep).replace(
            "\n## Kept counts",
            "\n![Latency per path, MySQL and PostgreSQL](mysql-latency.png)\n\n## Kept counts",
        )
    else:
        text_ = markdown(rep)
    path.write_text(text_)
