"""The typed configuration the toolkit takes instead of reading the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import URL


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseConfig:
    """Everything the engine and the migration facade need to know about one database."""

    url: URL
    replica_urls: tuple[URL, ...] = field(default_factory=tuple)
    pool_size: int = 10
    max_overflow: int = 10
    pool_timeout: float = 30.0
    pool_recycle: int = 1800
    pool_ping_idle_s: float = 5.0
    statement_timeout_ms: int = 30_000
    connect_timeout: float = 10.0
    pgbouncer: bool = False
    echo: bool = False
    application_name: str = "conduit"
    slow_query_ms: float | None = None
    n1_threshold: int | None = None
    n1_strict: bool = False

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"
