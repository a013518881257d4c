"""`conduit db check`: can the service reach its database, and is the schema at head?"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from conduit.cli.apps import db_app
from conduit.cli.migrate import UPGRADE_HINT, describe_revisions, migrations_for, pending
from conduit.cli.runner import CommandFailed, console, fail, print_json, run, settings
from conduit.db import tls
from conduit.db import url as db_url
from conduit.db.engine import create_engine
from conduit.db.errors import DatabaseError, translate
from conduit.db.health import Extension, Ping, extensions, ping
from conduit.db.migrations import MigrationState, Revision
from conduit.db.replicas import NotAReplica, ReplayLag, replay_lag
from conduit.settings import Settings

DEFAULT_TIMEOUT_SECONDS = 5.0


# The extensions `conduit db analyze` can use.
EXTENSIONS = ("pg_stat_statements", "hypopg")


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    url: str
    ping: Ping | None
    error: str | None
    lag: ReplayLag | None = None
    max_lag_s: float | None = None

    @property
    def lagging(self) -> bool:
        """Over REPLICA_MAX_LAG_MS: the service reads on the primary instead."""
        return (
            self.lag is not None
            and self.max_lag_s is not None
            and self.lag.seconds > self.max_lag_s
        )


@dataclass(frozen=True, slots=True)
class Report:
    url: str
    ping: Ping
    state: MigrationState
    pending: list[Revision]
    pool: dict[str, Any]
    extensions: list[Extension]
    replicas: list[ReplicaStatus]

    @property
    def unusable_replicas(self) -> list[ReplicaStatus]:
        return [replica for replica in self.replicas if replica.error is not None]

    @property
    def lagging_replicas(self) -> list[ReplicaStatus]:
        return [replica for replica in self.replicas if replica.lagging]

    def as_dict(self) -> dict[str, Any]:
        status = "ok"
        if self.unusable_replicas or self.lagging_replicas:
            status = "degraded"
        if self.pending:
            status = "behind"
        return {
            "status": status,
            "url": self.url,
            "dialect": self.ping.dialect,
            "server_version": self.ping.server_version,
            "latency_ms": round(self.ping.latency_ms, 3),
            "current": list(self.state.current),
            "heads": list(self.state.heads),
            "pending": [rev.revision for rev in self.pending],
            "pool": self.pool,
            "extensions": {
                ext.name: {"installed": ext.installed_version, "available": ext.available}
                for ext in self.extensions
            },
            "replicas": [
                {
                    "url": replica.url,
                    "reachable": replica.ping is not None,
                    "latency_ms": round(replica.ping.latency_ms, 3) if replica.ping else None,
                    "lag_s": round(replica.lag.seconds, 3) if replica.lag else None,
                    "lag_bytes": replica.lag.bytes if replica.lag else None,
                    "lagging": replica.lagging,
                    "error": replica.error,
                }
                for replica in self.replicas
            ],
        }


@db_app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    timeout: Annotated[
        float,
        typer.Option(min=0.1, help="Give up on an unresponsive database after this many seconds."),
    ] = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Check the database: reachable, at head, and how the service would use it.

    Prints the server version and round-trip latency, the migration state (current, heads,
    pending revisions), the pool settings, the PostgreSQL extensions `db analyze` uses, and each
    read replica's reachability, latency and replay lag.

    Exits 1 when the database is unreachable, its schema is behind head, or a read replica is
    unreachable, not a replica, or lags more than REPLICA_MAX_LAG_MS. Any database works:
    DATABASE_URL=postgresql://... conduit db check (the migration state is compared with
    Conduit's own revisions).
    """
    config = settings()
    report = run(_inspect(config, timeout=timeout))
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(_table(report))
    if report.pending:
        fail(
            f"the schema is behind head by {len(report.pending)} revision(s): "
            f"{describe_revisions(report.pending)}",
            hint=UPGRADE_HINT,
        )
    if report.unusable_replicas:
        first = report.unusable_replicas[0]
        fail(
            f"{len(report.unusable_replicas)} read replica(s) unusable, "
            f"first {first.url}: {first.error}",
            hint="check DATABASE_REPLICA_URLS and the replicas' state",
        )
    if report.lagging_replicas:
        first = report.lagging_replicas[0]
        assert first.lag is not None
        fail(
            f"{len(report.lagging_replicas)} read replica(s) lag more than "
            f"REPLICA_MAX_LAG_MS={config.replica_max_lag_ms}, first {first.url}: "
            f"{first.lag.seconds:.3f} s",
            hint="reads go to the primary meanwhile; is the replica replaying "
            "(pg_is_wal_replay_paused()) and connected to the primary?",
        )


async def _inspect(config: Settings, *, timeout: float) -> Report:
    url = config.async_database_url
    try:
        # One deadline for everything: a black-holed host must not hold the command for the
        # driver's own (much longer) connect timeout.
        return await asyncio.wait_for(_gather(config, timeout=timeout), timeout=timeout)
    except TimeoutError:
        cause = f"no answer within {timeout:g} s"
    except DatabaseError as exc:
        cause = exc.message.removeprefix("cannot reach the database: ")
    where = (
        f"the SQLite file {url.database}"
        if url.get_backend_name() == "sqlite"
        else f"{url.host or 'localhost'}:{url.port or 5432}"
    )
    raise CommandFailed(
        f"cannot reach the database at {where} ({db_url.mask(url)}): {cause}",
        hint="is the database running, and is DATABASE_URL right?",
    )


async def _gather(config: Settings, *, timeout: float) -> Report:
    engine = create_engine(config.database)
    try:
        result = await ping(engine, timeout=timeout)
        installed = await extensions(engine, names=EXTENSIONS)
    finally:
        await engine.dispose()
    migrations = migrations_for(config)
    state = await migrations.state()
    replicas = await asyncio.gather(
        *(_replica(config, url, timeout=timeout) for url in config.database.replica_urls)
    )
    return Report(
        url=db_url.mask(config.async_database_url),
        ping=result,
        state=state,
        pending=pending(migrations, state),
        pool=_pool_settings(config),
        extensions=installed,
        replicas=list(replicas),
    )


async def _replica(config: Settings, url: URL, *, timeout: float) -> ReplicaStatus:
    engine = create_engine(config.database, url=url)
    primary = create_engine(config.database)
    try:
        reached = await ping(engine, timeout=timeout)
        lag = await asyncio.wait_for(replay_lag(engine, primary=primary), timeout=timeout)
    except DatabaseError as exc:
        return ReplicaStatus(url=db_url.mask(url), ping=None, error=exc.message)
    except (SQLAlchemyError, OSError, NotAReplica) as exc:
        reason = str(exc) if isinstance(exc, NotAReplica) else translate(exc).message
        return ReplicaStatus(url=db_url.mask(url), ping=reached, error=reason)
    finally:
        await engine.dispose()
        await primary.dispose()
    return ReplicaStatus(
        url=db_url.mask(url),
        ping=reached,
        error=None,
        lag=lag,
        max_lag_s=config.replica_max_lag_ms / 1000,
    )


def _pool_settings(config: Settings) -> dict[str, Any]:
    database = config.database
    if not database.is_postgres:
        return {"kind": "SQLAlchemy default for SQLite"}
    return {
        "size": database.pool_size,
        "max_overflow": database.max_overflow,
        "timeout_s": database.pool_timeout,
        "recycle_s": database.pool_recycle,
        "ping_idle_s": database.pool_ping_idle_s,
        "statement_timeout_ms": database.statement_timeout_ms,
        "pgbouncer": database.pgbouncer,
        "sslmode": tls.mode_for(database.url, setting=database.sslmode),
    }


def _table(report: Report) -> Table:
    table = Table(title="Database", show_header=False)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    data = report.as_dict()
    table.add_row("url", data["url"])
    table.add_row("dialect", data["dialect"])
    table.add_row("server version", data["server_version"])
    table.add_row("latency", f"{data['latency_ms']:.1f} ms")
    table.add_row("current", ", ".join(data["current"]) or "base (empty schema)")
    table.add_row("head", ", ".join(data["heads"]))
    behind = f"{len(report.pending)} revision(s) pending"
    table.add_row("status", "at head" if not report.pending else behind)
    table.add_row("pool", ", ".join(f"{k}={v}" for k, v in data["pool"].items()))
    for ext in report.extensions:
        state = (
            f"installed ({ext.installed_version})"
            if ext.installed_version
            else ("available, not installed" if ext.available else "not available")
        )
        table.add_row(f"extension {ext.name}", state)
    for replica in report.replicas:
        table.add_row(f"replica {replica.url}", _replica_row(replica))
    return table


def _replica_row(replica: ReplicaStatus) -> str:
    if replica.ping is None:
        return f"unreachable: {replica.error}"
    if replica.lag is None:
        return f"{replica.ping.latency_ms:.1f} ms, {replica.error}"
    over = " (over REPLICA_MAX_LAG_MS)" if replica.lagging else ""
    return (
        f"{replica.ping.latency_ms:.1f} ms, replay lag {replica.lag.seconds:.3f} s / "
        f"{replica.lag.bytes} B{over}"
    )
