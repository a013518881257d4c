"""The typed configuration the toolkit takes instead of reading the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import URL

from conduit.db.tls import SslMode


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseConfig:
    """Everything the engine and the migration facade need to know about one database.

    Waits are bounded: ``pool_timeout`` (seconds) for a pooled connection, ``lock_timeout_ms``
    for a lock (on SQLite, the busy timeout), ``statement_timeout_ms`` for a statement (0: no
    limit). ``share_connections`` is the most connections that one kind of work (one key of
    :class:`~conduit.db.bulkhead.Bulkhead`) may hold at once, so that a stalled kind cannot
    take the whole pool; ``None`` leaves a quarter of the pool to the others. Work beyond its
    share waits for a slot at most ``pool_timeout``.
    """

    url: URL
    # Straight to the primary, past any pooler, for session-level work (migrations' advisory
    # lock); None: ``url``.
    direct_url: URL | None = None
    replica_urls: tuple[URL, ...] = field(default_factory=tuple)
    # Read replicas (conduit.db.replicas): out of the rotation while their replay lag exceeds
    # replica_max_lag_ms, checked every replica_check_interval_s; each has its own pool of
    # replica_pool_size connections (None: pool_size) plus max_overflow.
    replica_max_lag_ms: int = 1_000
    replica_check_interval_s: float = 1.0
    replica_pool_size: int | None = None
    # A pool that holds its connections (no overflow to open and close per request under
    # load): work beyond pool_size waits for one, at most pool_timeout.
    pool_size: int = 20
    max_overflow: int = 0
    pool_timeout: float = 2.0
    pool_recycle: int = 1800
    pool_ping_idle_s: float = 5.0
    statement_timeout_ms: int = 5_000
    lock_timeout_ms: int = 2_000
    share_connections: int | None = None
    connect_timeout: float = 10.0
    # TLS to PostgreSQL (conduit.db.tls): None decides per server, from its URL or its host.
    sslmode: SslMode | None = None
    pgbouncer: bool = False
    echo: bool = False
    application_name: str = "conduit"
    slow_query_ms: float | None = None
    n1_threshold: int | None = None
    n1_strict: bool = False

    @property
    def pool_capacity(self) -> int:
        return self.pool_size + self.max_overflow

    @property
    def connections_per_share(self) -> int:
        if self.share_connections is not None:
            return self.share_connections
        return max(1, self.pool_capacity - max(1, self.pool_capacity // 4))

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @property
    def is_mysql(self) -> bool:
        """MySQL or MariaDB (one SQLAlchemy dialect, ``mysql``)."""
        return self.url.get_backend_name() == "mysql"
