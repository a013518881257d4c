"""Read replicas: the healthy ones in rotation, checked in the background, and WAL positions.

A :class:`ReplicaSet` holds an engine (its own pool) per streaming replica and a background task
that checks each of them every ``replica_check_interval_s``: a replica that cannot be reached, is
not in recovery (a promoted or misconfigured server), or whose replay lag exceeds
``replica_max_lag_ms`` is out of the rotation until a later check finds it well. Requests never
wait for a check: :meth:`ReplicaSet.choose` picks, round robin, among the replicas the last check
found healthy, and returns ``None`` (read on the primary) when there are none.

Lag is measured against the primary, not by the replica alone: each round samples the primary's
flushed WAL position, and a replica's lag is the age of the oldest sample it has not replayed
yet. A replica that lost its connection to the primary therefore lags like one that replays
slowly, and an idle primary gives every caught-up replica a lag of zero. The resolution is the
check interval.

Read-your-writes: :data:`COMMIT_POSITION`, read on the primary after a commit, is at or past the
commit's record; a replica whose last checked replay position is at or past it shows that
commit (:meth:`ReplicaSet.choose` with ``after``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.db.config import DatabaseConfig
from conduit.db.engine import create_engine
from conduit.db.errors import translate

logger = logging.getLogger(__name__)

WalPosition = int
"""A PostgreSQL WAL position (LSN) as its byte offset: ``0/16B3748`` is ``0x16B3748``."""

# The insert position, read after the commit returned: it is at or past the end of the commit
# record whatever synchronous_commit says (the flushed or written position may not be yet).
COMMIT_POSITION = text("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")
_PRIMARY_POSITION = text("SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint")
_REPLICA_POSITION = text(
    "SELECT pg_is_in_recovery() AS in_recovery,"
    " (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS replayed"
)
# Two 32-bit halves in hexadecimal, as pg_lsn's text form.
_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")
# PostgreSQL truncates longer application names (NAMEDATALEN - 1).
_APPLICATION_NAME_MAX = 63


def parse_position(value: str) -> WalPosition:
    """The position of an LSN as PostgreSQL writes it (``16/B374D848``); ValueError if not one."""
    match = _LSN.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a WAL position such as 0/16B3748")
    return (int(match[1], 16) << 32) | int(match[2], 16)


def format_position(position: WalPosition) -> str:
    """``position`` written as PostgreSQL writes an LSN."""
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


@dataclass(frozen=True, slots=True)
class ReplayLag:
    """How far a replica is behind, measured once (``conduit db check``).

    ``seconds`` is the replica's own view: the age of its last replayed commit while it has
    received WAL it has not replayed yet, else 0. ``bytes`` is the WAL it has yet to replay up
    to the primary's flushed position.
    """

    seconds: float
    bytes: int


_REPLAY_LAG = text(
    "SELECT pg_is_in_recovery() AS in_recovery,"
    " (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS replayed,"
    " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END"
    " AS seconds"
)


async def replay_lag(replica: AsyncEngine, *, primary: AsyncEngine) -> ReplayLag:
    """``replica``'s lag behind ``primary``; raises when it is not a replica or not reachable."""
    async with primary.connect() as conn:
        flushed = int((await conn.execute(_PRIMARY_POSITION)).scalar_one())
    async with replica.connect() as conn:
        lag = (await conn.execute(_REPLAY_LAG)).one()
    if not lag.in_recovery:
        raise NotAReplica("not in recovery: a primary, not a replica")
    return ReplayLag(seconds=float(lag.seconds), bytes=max(0, flushed - int(lag.replayed)))


def target_name(url: URL) -> str:
    """How logs, metrics and ``db check`` name a server: its host and port."""
    return f"{url.host or 'localhost'}:{url.port or 5432}"


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """What the last check found. ``lag_s`` is ``None`` when the primary could not be sampled."""

    healthy: bool = False
    replay_position: WalPosition | None = None
    lag_s: float | None = None
    error: str | None = "not checked yet"


class Replica:
    """One replica: the pool that serves reads, and a connection of its own for the checks."""

    def __init__(self, name: str, *, engine: AsyncEngine, monitor: AsyncEngine) -> None:
        self.name = name
        self.engine = engine
        self.monitor = monitor
        self.state = ReplicaState()

    def failed(self, exc: BaseException) -> None:
        """Out of the rotation until the next check finds it well (a read could not connect)."""
        message = translate(exc).message
        logger.warning("replica %s: out of rotation: %s", self.name, message)
        self.state = replace(self.state, healthy=False, error=message)

    async def position(self, *, timeout: float) -> WalPosition:
        """The replay position; raises when unreachable or not a replica."""
        async with asyncio.timeout(timeout), self.monitor.connect() as conn:
            found = (await conn.execute(_REPLICA_POSITION)).one()
        if not found.in_recovery:
            raise NotAReplica("not in recovery: a primary, not a replica")
        return int(found.replayed)


class NotAReplica(Exception):
    """The server is not in recovery: a primary (perhaps a promoted replica), not a replica."""


class ReplicaSet:
    """The replicas of one primary, with the background check that keeps their states."""

    def __init__(
        self,
        replicas: list[Replica],
        *,
        primary_monitor: AsyncEngine,
        max_lag_s: float,
        interval_s: float,
    ) -> None:
        self.replicas = replicas
        self.primary_monitor = primary_monitor
        self.max_lag_s = max_lag_s
        self.interval_s = interval_s
        # A check that gets no answer within this gives up (and the replica is unreachable).
        self.timeout_s = max(1.0, interval_s)
        self.rounds = 0
        self._samples: deque[tuple[float, WalPosition]] = deque()
        self._turn = itertools.count()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_config(cls, config: DatabaseConfig) -> ReplicaSet | None:
        """Engines for ``config.replica_urls`` (none: ``None``), with the primary's timeouts."""
        if not config.replica_urls:
            return None
        # The checks have a connection of their own: they never queue behind the reads.
        checks = replace(
            config,
            pool_size=1,
            max_overflow=0,
            application_name=_application_name(config, "replica check"),
        )
        replicas = []
        for url in config.replica_urls:
            name = target_name(url)
            reads = replace(
                config,
                pool_size=config.replica_pool_size or config.pool_size,
                application_name=_application_name(config, f"replica {name}"),
            )
            replicas.append(
                Replica(
                    name,
                    engine=create_engine(reads, url=url),
                    monitor=create_engine(checks, url=url),
                )
            )
        return cls(
            replicas,
            primary_monitor=create_engine(checks),
            max_lag_s=config.replica_max_lag_ms / 1000,
            interval_s=config.replica_check_interval_s,
        )

    def choose(self, *, after: WalPosition | None = None) -> Replica | None:
        """The next healthy replica that has replayed ``after`` (if given); None: the primary."""
        candidates = [
            replica
            for replica in self.replicas
            if replica.state.healthy
            and (
                after is None
                or (replica.state.replay_position is not None
                    and replica.state.replay_position >= after)
            )
        ]  # fmt: skip
        if not candidates:
            return None
        return candidates[next(self._turn) % len(candidates)]

    async def check(self) -> None:
        """One round: sample the primary, then every replica at once, and update their states."""
        now = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout_s), self.primary_monitor.connect() as conn:
                primary = int((await conn.execute(_PRIMARY_POSITION)).scalar_one())
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            # Replicas are still judged by whether they answer: with the primary down they are
            # all that can serve reads, and a lag cannot be measured against nothing.
            logger.warning("replica check: cannot sample the primary: %s", _reason(exc))
            self._samples.clear()
        else:
            self._samples.append((now, primary))
            horizon = now - self.max_lag_s - 2 * self.interval_s
            while len(self._samples) > 1 and self._samples[0][0] < horizon:
                self._samples.popleft()
        positions = await asyncio.gather(
            *(replica.position(timeout=self.timeout_s) for replica in self.replicas),
            return_exceptions=True,
        )
        for replica, position in zip(self.replicas, positions, strict=True):
            replica.state = self._judge(replica, position, now=now)
        self.rounds += 1

    def _judge(
        self, replica: Replica, position: WalPosition | BaseException, *, now: float
    ) -> ReplicaState:
        if isinstance(position, BaseException):
            if not isinstance(position, (SQLAlchemyError, OSError, TimeoutError, NotAReplica)):
                raise position
            reason = _reason(position)
            if replica.state.healthy or replica.state.error != reason:
                logger.warning("replica %s: out of rotation: %s", replica.name, reason)
            return ReplicaState(error=reason)
        lag_s = self._lag(position, now=now)
        healthy = lag_s is None or lag_s <= self.max_lag_s
        error = None if healthy else f"replay lag {lag_s:.3f} s over {self.max_lag_s:g} s"
        if healthy != replica.state.healthy:
            if healthy:
                logger.info("replica %s: back in rotation", replica.name)
            else:
                logger.warning("replica %s: out of rotation: %s", replica.name, error)
        return ReplicaState(healthy=healthy, replay_position=position, lag_s=lag_s, error=error)

    def _lag(self, replayed: WalPosition, *, now: float) -> float | None:
        """The age of the oldest primary sample not replayed yet (0 when all are)."""
        if not self._samples:
            return None
        for sampled_at, position in self._samples:
            if position > replayed:
                return now - sampled_at
        return 0.0

    async def start(self) -> None:
        """Check once (reads use replicas from the start), then keep checking in the background."""
        await self.check()
        self._task = asyncio.create_task(self._run(), name="conduit replica check")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except Exception:
                # The check must outlive anything one round runs into, or replicas freeze in
                # whatever state they were last found in.
                logger.exception("replica check failed")

    async def dispose(self) -> None:
        """Stop checking and close every replica's connections."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for engine in self.engines():
            await engine.dispose()

    def engines(self) -> Iterable[AsyncEngine]:
        yield self.primary_monitor
        for replica in self.replicas:
            yield replica.engine
            yield replica.monitor


def _application_name(config: DatabaseConfig, role: str) -> str:
    """Tells this service's connections apart in ``pg_stat_activity``, per server and purpose."""
    return f"{config.application_name} ({role})"[:_APPLICATION_NAME_MAX]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, NotAReplica):
        return str(exc)
    return translate(exc).message
