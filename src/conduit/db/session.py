"""The session factory and the unit of work.

Repositories and services ``flush()``; only :func:`unit_of_work`, at the edge of a request or a
command, commits. Everything raised inside it is translated by :mod:`conduit.db.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from conduit.db.bulkhead import Bulkhead
from conduit.db.config import DatabaseConfig
from conduit.db.engine import create_engine, create_probe_engine
from conduit.db.errors import DatabaseError, translate
from conduit.db.instrument import StatementStats, track
from conduit.db.replicas import COMMIT_POSITION, Replica, ReplicaSet, WalPosition

logger = logging.getLogger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]
STATS_KEY = "statement_stats"
TARGET_KEY = "read_target"
POSITION_KEY = "commit_position"
PRIMARY = "primary"


def make_sessionmaker(bind: AsyncEngine | AsyncConnection) -> SessionFactory:
    """Sessions that keep loaded values after commit, so responses can be built from them.

    Bound to a connection (as the tests do, inside an outer transaction), a session's commit
    releases a savepoint instead of committing.
    """
    if isinstance(bind, AsyncConnection):
        return async_sessionmaker(
            bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
    return async_sessionmaker(bind=bind, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(factory: Callable[[], AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block succeeds and rolls back on any error.

    The session is always closed. ``session.info["statement_stats"]`` counts what it sent.
    """
    with track(detect_repeats=True) as stats:
        async with factory() as session:
            session.info[STATS_KEY] = stats
            try:
                yield session
                await session.commit()
            except SQLAlchemyError as exc:
                await _rollback_quietly(session)
                raise translate(exc) from exc
            # The driver raises OSError itself when it cannot connect at all; an OSError from
            # the block's own work (a file, another service) is not the database's and passes.
            except OSError as exc:
                await _rollback_quietly(session)
                if _raised_by_driver(exc):
                    raise translate(exc) from exc
                raise
            except BaseException:
                await _rollback_quietly(session)
                raise


def statement_stats(session: AsyncSession) -> StatementStats | None:
    """What the unit of work owning ``session`` has sent so far, if it is tracked."""
    stats = session.info.get(STATS_KEY)
    return stats if isinstance(stats, StatementStats) else None


def read_target(session: AsyncSession) -> str:
    """The server a :meth:`Database.reader` session reads from: ``primary`` or a replica's name."""
    return str(session.info.get(TARGET_KEY, PRIMARY))


def commit_position(session: AsyncSession) -> WalPosition | None:
    """The primary's WAL position after the commit of a unit of work that asked for it.

    ``None`` without replicas: on one server every read sees every commit.
    """
    position = session.info.get(POSITION_KEY)
    return position if isinstance(position, int) else None


_DRIVER_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.")


def _raised_by_driver(exc: BaseException) -> bool:
    """Whether ``exc`` passed through SQLAlchemy or a database driver on its way up."""
    frame = exc.__traceback__
    while frame is not None:
        module = str(frame.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        frame = frame.tb_next
    return False


async def _rollback_quietly(session: AsyncSession) -> None:
    # A rollback on a dead connection raises again; the original error is the one that matters.
    with suppress(SQLAlchemyError, OSError):
        await session.rollback()


def make_reader_sessionmaker(engine: AsyncEngine, *, autocommit: bool = True) -> SessionFactory:
    """Sessions for work that only reads: on PostgreSQL their connections run in autocommit.

    In PostgreSQL's default READ COMMITTED every statement takes its own snapshot anyway, so
    a read-only block sees the same data with or without a transaction around it; without
    one, a read is its statements and nothing else (no ``BEGIN``, no ``COMMIT``, nothing for
    the pool to reset). SQLite keeps its transactions: they cost no round trip there, and its
    ``BEGIN`` is emitted by the engine itself (see :mod:`conduit.db.engine`). Behind PgBouncer
    in transaction mode (``autocommit=False``) reads keep their transaction: outside one,
    PgBouncer may run a statement's prepare and its execution on different server connections.
    """
    if engine.dialect.name != "postgresql" or not autocommit:
        return make_sessionmaker(engine)
    return make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


class Database:
    """One database as the application uses it: its engine and its unit-of-work factories.

    ``sessions`` make the units of work that write; ``readers`` those that only read. Given a
    ``factory`` (the tests bind one to a connection inside an outer transaction), both use it.
    ``probe_engine`` serves health probes apart from the pool (the engine itself if not given);
    ``bulkhead``, if given, bounds the units of work of each ``share`` (see
    :mod:`conduit.db.bulkhead`). ``autocommit_reads=False`` keeps reads in transactions (behind
    PgBouncer, see :func:`make_reader_sessionmaker`). With ``replicas``, readers read from a
    healthy replica when there is one (see :mod:`conduit.db.replicas`); units of work always use
    the primary.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        factory: SessionFactory | None = None,
        probe_engine: AsyncEngine | None = None,
        bulkhead: Bulkhead | None = None,
        autocommit_reads: bool = True,
        replicas: ReplicaSet | None = None,
    ) -> None:
        self.engine = engine
        self.probe_engine = probe_engine or engine
        self.bulkhead = bulkhead
        self.sessions = factory or make_sessionmaker(engine)
        self.readers = factory or make_reader_sessionmaker(engine, autocommit=autocommit_reads)
        self.replicas = replicas
        self._replica_readers = {
            replica.name: make_reader_sessionmaker(replica.engine, autocommit=autocommit_reads)
            for replica in (replicas.replicas if replicas is not None else ())
        }

    @classmethod
    def from_config(cls, config: DatabaseConfig) -> Database:
        bulkhead = None
        # On SQLite, readers never wait for the one writer (WAL) and writers queue for its lock.
        if config.is_postgres:
            bulkhead = Bulkhead(limit=config.connections_per_share, max_wait_s=config.pool_timeout)
        return cls(
            create_engine(config),
            probe_engine=create_probe_engine(config),
            bulkhead=bulkhead,
            autocommit_reads=not config.pgbouncer,
            replicas=ReplicaSet.from_config(config) if config.is_postgres else None,
        )

    def unit_of_work(
        self, *, share: str | None = None, note_position: bool = False
    ) -> AbstractAsyncContextManager[AsyncSession]:
        """A unit of work on the primary.

        With ``note_position`` and replicas, :func:`commit_position` tells the primary's WAL
        position after the commit (one statement more), for the client's reads that follow.
        """
        return self._writing(share, note_position=note_position and self.replicas is not None)

    def reader(
        self, *, share: str | None = None, after: WalPosition | None = None
    ) -> AbstractAsyncContextManager[AsyncSession]:
        """A unit of work for reads only: what it writes is not guaranteed to be atomic.

        With replicas, it reads from a healthy one that has replayed ``after`` (if given), else
        from the primary; :func:`read_target` tells which.
        """
        return self._reading(share, after=after)

    @asynccontextmanager
    async def _writing(
        self, share: str | None, *, note_position: bool
    ) -> AsyncIterator[AsyncSession]:
        async with self._slot(share), unit_of_work(self.sessions) as session:
            yield session
        if note_position:
            session.info[POSITION_KEY] = await self._commit_position()

    @asynccontextmanager
    async def _reading(
        self, share: str | None, *, after: WalPosition | None
    ) -> AsyncIterator[AsyncSession]:
        async with self._slot(share):
            replica_session = await self._replica_session(after)
            factory = self.readers if replica_session is None else lambda: replica_session
            async with unit_of_work(factory) as session:
                yield session

    async def _replica_session(self, after: WalPosition | None) -> AsyncSession | None:
        """A session connected to the replica to read from, or ``None`` for the primary.

        The connection is taken up front: a replica that went away since its last check is
        taken out of the rotation, and this read goes to the primary instead of failing.
        """
        replica: Replica | None = None
        if self.replicas is not None:
            replica = self.replicas.choose(after=after)
        if replica is None:
            return None
        session = self._replica_readers[replica.name]()
        session.info[TARGET_KEY] = replica.name
        try:
            await session.connection()
        except (SQLAlchemyError, OSError) as exc:
            await session.close()
            replica.failed(exc)
            return None
        return session

    async def _commit_position(self) -> WalPosition | None:
        # The WAL insert position is the server's, not the connection's: read on any connection
        # to the primary once the commit has returned, it is at or past the commit record.
        try:
            async with unit_of_work(self.readers) as session:
                return int((await session.execute(COMMIT_POSITION)).scalar_one())
        except DatabaseError as exc:
            # The write is committed: answer it, without the position, rather than fail it and
            # invite a retry. The client's next reads may then lag by up to the replicas' limit.
            logger.warning("cannot read the WAL position after a commit: %s", exc.message)
            return None

    @asynccontextmanager
    async def _slot(self, share: str | None) -> AsyncIterator[None]:
        if share is None or self.bulkhead is None:
            yield
            return
        async with self.bulkhead.slot(share):
            yield

    def replica_engines(self) -> list[AsyncEngine]:
        """The engines that serve reads on replicas (none without replicas)."""
        return [] if self.replicas is None else [r.engine for r in self.replicas.replicas]

    async def start(self) -> None:
        """Start the replicas' background check, if there are replicas."""
        if self.replicas is not None:
            await self.replicas.start()

    async def dispose(self) -> None:
        if self.replicas is not None:
            await self.replicas.dispose()
        await self.engine.dispose()
        if self.probe_engine is not self.engine:
            await self.probe_engine.dispose()
