"""Engines built from a :class:`DatabaseConfig`: pool, idle ping, recycle, timeouts, pragmas.

On MySQL and MariaDB every new connection gets one ``SET SESSION`` (:func:`mysql_session_sql`):
strict SQL mode, ``utf8mb4``, UTC, and the lock and statement limits in the units each server
takes; transactions run at READ COMMITTED, PostgreSQL's default, which the guarded writes
assume (InnoDB's default REPEATABLE READ adds gap locks, hence more deadlocks, and reads a
snapshot older than the rows an UPDATE sees).
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from sqlalchemy import Connection, TextClause, event, text
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection

from conduit.db import tls
from conduit.db.config import DatabaseConfig
from conduit.db.instrument import InstrumentConfig
from conduit.db.instrument import install as install_instrumentation


def create_engine(config: DatabaseConfig, *, url: URL | None = None) -> AsyncEngine:
    """The application's engine for ``config`` (or for ``url``, a replica of it).

    Pool, timeouts and pragmas follow the dialect of the URL actually connected to.
    """
    target = url if url is not None else config.url
    backend = target.get_backend_name()
    kwargs: dict[str, Any] = {"echo": config.echo}
    if backend == "postgresql":
        kwargs.update(
            pool_size=config.pool_size,
            max_overflow=config.max_overflow,
            pool_timeout=config.pool_timeout,
            pool_recycle=config.pool_recycle,
            connect_args=_asyncpg_connect_args(config, target),
        )
        target = tls.without_mode(target)
    elif backend == "mysql":
        kwargs.update(
            pool_size=config.pool_size,
            max_overflow=config.max_overflow,
            pool_timeout=config.pool_timeout,
            # Also below the server's wait_timeout (8 h by default), past which it hangs up.
            pool_recycle=config.pool_recycle,
            isolation_level=MYSQL_ISOLATION_LEVEL,
            connect_args=mysql_connect_args(config),
        )
    elif backend == "sqlite":
        # SQLite's busy timeout is its lock wait: how long a statement waits for a writer.
        kwargs["connect_args"] = {"timeout": config.lock_timeout_ms / 1000}
        if _is_file_db(target):  # a queue pool (an in-memory database has one connection)
            kwargs["pool_timeout"] = config.pool_timeout
    engine = create_async_engine(target, **kwargs)
    if backend in ("postgresql", "mysql"):
        _ping_when_idle(engine, idle_s=config.pool_ping_idle_s)
    if backend == "postgresql" and config.pgbouncer:
        event.listen(engine.sync_engine, "begin", _transaction_settings(config))
    if backend == "mysql":
        on_mysql_connect(engine, config)
    if backend == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(is_file=_is_file_db(target)))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    install_instrumentation(
        engine,
        InstrumentConfig(
            slow_query_ms=config.slow_query_ms,
            n1_threshold=config.n1_threshold,
            n1_strict=config.n1_strict,
        ),
    )
    return engine


def create_probe_engine(config: DatabaseConfig) -> AsyncEngine:
    """An engine for health probes: a fresh connection per probe, outside the pool.

    A probe must not queue behind application traffic for a pooled connection, and opening a
    connection is itself part of what readiness checks (a server at ``max_connections`` is not
    ready for this instance).
    """
    target = config.url
    backend = target.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        connect_args = _asyncpg_connect_args(config, target)
        target = tls.without_mode(target)
    elif backend == "mysql":
        connect_args = mysql_connect_args(config)
    elif backend == "sqlite":
        connect_args = {"timeout": config.lock_timeout_ms / 1000}
    engine = create_async_engine(target, poolclass=NullPool, connect_args=connect_args)
    if backend == "mysql":
        on_mysql_connect(engine, config)
    return engine


_IDLE_SINCE = "conduit_idle_since"


def _ping_when_idle(engine: AsyncEngine, *, idle_s: float) -> None:
    """Ping a pooled connection before use only when it has sat idle longer than ``idle_s``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: on asyncpg outside autocommit that
    is ``BEGIN``, ``;`` and ``ROLLBACK``, three round trips before each request's own work. A
    connection in steady use was just proven alive by its previous request; the ones a server
    restart, a proxy or a firewall may have closed are those that sat idle, and only they are
    pinged. A connection that dies while in use fails its statement, and SQLAlchemy then
    invalidates it and every older pooled connection.
    """
    pool = engine.sync_engine.pool
    dialect: Dialect = engine.sync_engine.dialect

    def on_checkin(_dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def on_checkout(
        dbapi_connection: DBAPIConnection,
        record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < idle_s:
            return  # new, or in steady use
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards the connection and retries the checkout with a fresh one.
            raise DisconnectionError("an idle pooled connection failed its ping") from exc

    event.listen(pool, "checkin", on_checkin)
    event.listen(pool, "checkout", on_checkout)


def transaction_statement_timeout(ms: int) -> TextClause:
    """A statement that sets PostgreSQL's ``statement_timeout`` for the current transaction only.

    For the long work that the engine's limit (a request's) is not meant for: an export, a
    bulk load. ``0`` means no limit. Local to the transaction, it needs no reset and suits a
    pooler in transaction mode.
    """
    return text("SELECT set_config('statement_timeout', :ms, true)").bindparams(ms=str(ms))


def _asyncpg_connect_args(config: DatabaseConfig, url: URL) -> dict[str, Any]:
    args: dict[str, Any] = {
        "timeout": config.connect_timeout,
        "command_timeout": None,
        # Explicit, so that asyncpg neither falls back to PGSSLMODE nor to "prefer".
        "ssl": tls.mode_for(url, setting=config.sslmode),
        "server_settings": {"application_name": config.application_name},
    }
    if config.pgbouncer:
        # PgBouncer in transaction mode hands each transaction any server connection: a named
        # prepared statement kept past its transaction would be missing on the next one. No
        # cache (asyncpg's, SQLAlchemy's), and a unique name for every statement prepared.
        args["statement_cache_size"] = 0
        args["prepared_statement_cache_size"] = 0
        args["prepared_statement_name_func"] = lambda: f"__asyncpg_{uuid.uuid4()}__"
        # It also refuses startup parameters it cannot carry: the limits are set per
        # transaction instead (see _transaction_settings).
        return args
    # Startup parameters rather than SET: they hold for every statement, in a transaction or
    # in autocommit, at no cost per transaction.
    args["server_settings"].update(_session_settings(config))
    return args


def _session_settings(config: DatabaseConfig) -> dict[str, str]:
    return {
        "statement_timeout": str(config.statement_timeout_ms),
        "lock_timeout": str(config.lock_timeout_ms),
        # JIT compilation costs more than it saves on this service's short OLTP statements.
        "jit": "off",
    }


def _transaction_settings(config: DatabaseConfig) -> Any:
    """Behind PgBouncer: the settings of :func:`_session_settings`, local to each transaction.

    One statement at the start of each transaction; local settings end with it, so none leaks
    to the next client of the server connection.
    """
    calls = ", ".join(
        f"set_config('{name}', '{value}', true)"
        for name, value in _session_settings(config).items()
    )
    statement = f"SELECT {calls}"

    def on_begin(conn: Connection) -> None:
        # On the driver's cursor, like the BEGIN it follows: part of opening the transaction,
        # not one of the block's own statements (counted, logged and explained by
        # conduit.db.instrument). (The ignore: a connection that begins is checked out, so its
        # DBAPI connection is never None.)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(statement)
        finally:
            cursor.close()

    return on_begin


MYSQL_ISOLATION_LEVEL = "READ COMMITTED"
# Strict: a value that does not fit is an error, not silently truncated or zeroed, as on
# PostgreSQL; ONLY_FULL_GROUP_BY refuses the ambiguous GROUP BY that PostgreSQL refuses too.
MYSQL_SQL_MODE = (
    "STRICT_ALL_TABLES,ONLY_FULL_GROUP_BY,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)


def mysql_connect_args(config: DatabaseConfig) -> dict[str, Any]:
    """aiomysql's connect arguments: the connect timeout and the ``utf8mb4`` character set."""
    return {"connect_timeout": config.connect_timeout, "charset": "utf8mb4"}


def mysql_session_sql(
    *,
    mariadb: bool,
    lock_timeout_ms: int,
    statement_timeout_ms: int | None,
    metadata_lock_wait_s: int | None = None,
) -> str:
    """The ``SET SESSION`` every MySQL/MariaDB connection starts with.

    ``innodb_lock_wait_timeout`` takes whole seconds (at least 1): ``lock_timeout_ms`` rounded
    up, 0 (no limit) its largest value. The statement limit is MariaDB's ``max_statement_time``
    (seconds, any statement) or MySQL's ``max_execution_time`` (milliseconds, SELECT only); 0
    is no limit on both, and ``None`` leaves the server's own. ``metadata_lock_wait_s`` bounds
    how long DDL waits for a table's metadata lock (``lock_wait_timeout``; the server's default
    is a year). UTC: ``DATETIME`` columns keep no zone, and the database clock (``utcnow``) must
    be UTC whoever reads it.
    """
    settings = [
        f"sql_mode = '{MYSQL_SQL_MODE}'",
        "time_zone = '+00:00'",
        f"innodb_lock_wait_timeout = {_innodb_lock_wait_s(lock_timeout_ms)}",
    ]
    if metadata_lock_wait_s is not None:
        settings.append(f"lock_wait_timeout = {metadata_lock_wait_s}")
    if statement_timeout_ms is not None:
        if mariadb:
            settings.append(f"max_statement_time = {statement_timeout_ms / 1000:g}")
        else:
            settings.append(f"max_execution_time = {statement_timeout_ms}")
    return "SET SESSION " + ", ".join(settings)


# InnoDB's largest lock wait (about 34 years): what "no limit" is there.
INNODB_LOCK_WAIT_MAX_S = 1_073_741_824


def _innodb_lock_wait_s(ms: int) -> int:
    """Whole seconds, rounded up; at least 1 (InnoDB's least); 0 ms (no limit) is the most."""
    return INNODB_LOCK_WAIT_MAX_S if ms == 0 else max(1, math.ceil(ms / 1000))


# Migrations: a DDL statement waiting this long for a table's metadata lock gives up, instead of
# queueing behind a long transaction with every later statement on the table queued behind it
# (PostgreSQL's revisions set lock_timeout = 5s for the same reason).
MIGRATION_METADATA_LOCK_WAIT_S = 5


def on_mysql_connect(
    engine: AsyncEngine, config: DatabaseConfig, *, migrations: bool = False
) -> None:
    """Run :func:`mysql_session_sql` on every new connection of ``engine``.

    For ``migrations`` the server's statement limit stays (a migration may run long) and DDL
    waits for a metadata lock at most :data:`MIGRATION_METADATA_LOCK_WAIT_S`.
    """
    dialect: Dialect = engine.sync_engine.dialect

    def on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # The server says what it is in its handshake: no round trip to tell MariaDB apart.
        version = str(dialect.get_driver_connection(dbapi_connection).get_server_info())
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(
                mysql_session_sql(
                    mariadb="mariadb" in version.lower(),
                    lock_timeout_ms=config.lock_timeout_ms,
                    statement_timeout_ms=None if migrations else config.statement_timeout_ms,
                    metadata_lock_wait_s=MIGRATION_METADATA_LOCK_WAIT_S if migrations else None,
                )
            )
        finally:
            cursor.close()

    event.listen(engine.sync_engine, "connect", on_connect)


def _is_file_db(url: URL) -> bool:
    database = url.database or ""
    return database not in ("", ":memory:") and not database.startswith("file::memory:")


def _sqlite_pragmas(*, is_file: bool) -> Any:
    def on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # The sqlite3 module's own transaction handling defers BEGIN and breaks SAVEPOINT;
        # switch it off and let SQLAlchemy emit BEGIN itself (see _sqlite_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if is_file:
            # WAL lets readers proceed while one writer commits.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")
