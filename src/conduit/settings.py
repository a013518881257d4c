"""Every setting, read from the environment (and ``.env`` when present) here and nowhere else."""

from __future__ import annotations

import logging
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import limits
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL

from conduit.db import tls
from conduit.db import url as db_url
from conduit.db.config import DatabaseConfig
from conduit.db.tls import SslMode
from conduit.migrations import location as bundled_migrations

logger = logging.getLogger(__name__)

# HS256 keys shorter than the hash (32 bytes) weaken the signature (RFC 7518 section 3.2).
MIN_SECRET_KEY_BYTES = 32
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./conduit.db"


class SettingsError(ValueError):
    """A setting is malformed; the message names the variable and what is wrong with it."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    environment: Literal["development", "test", "production"] = "development"
    # repr=False: settings get logged and printed; URLs may carry passwords.
    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    database_replica_urls: Annotated[tuple[str, ...], NoDecode] = Field(default=(), repr=False)
    # Read replicas (docs/operations.md, "Read replicas and read-your-writes").
    replica_max_lag_ms: int = Field(default=1_000, ge=0)
    replica_check_interval_s: float = Field(default=1.0, gt=0)
    db_replica_pool_size: int | None = Field(default=None, ge=1)
    secret_key: str = Field(default="", repr=False)
    access_token_ttl_minutes: int = Field(default=60 * 24 * 7, ge=1)
    initial_credits: int = Field(default=100, ge=0)

    # Held, not churned: see docs/operations.md, "Sizing the connection pool".
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_recycle: int = Field(default=1800, ge=-1)
    db_pool_ping_idle_s: float = Field(default=5.0, ge=0)
    db_connect_timeout: float = Field(default=10.0, gt=0)
    # TLS to PostgreSQL; unset: the URL's sslmode, else disable on loopback, prefer elsewhere.
    database_sslmode: SslMode | None = None
    # Behind PgBouncer (transaction mode): DATABASE_URL is PgBouncer's, DATABASE_DIRECT_URL the
    # primary's, for migrations and other session-level work (docs/operations.md).
    db_pgbouncer: bool = False
    database_direct_url: str = Field(default="", repr=False)
    # Bounded waits: each one that runs out answers 503 {"errors": {"database": ["busy"]}}.
    db_pool_timeout: float = Field(default=2.0, gt=0)
    db_lock_timeout_ms: int = Field(default=2_000, ge=0)
    db_statement_timeout_ms: int = Field(default=5_000, ge=0)
    db_route_connections: int | None = Field(default=None, ge=1)
    request_timeout_s: float = Field(default=10.0, gt=0)
    export_statement_timeout_ms: int = Field(default=600_000, ge=0)
    sql_echo: bool = False
    slow_query_ms: float = Field(default=200.0, ge=0)
    n1_threshold: int = Field(default=10, ge=2)
    n1_strict: bool = False
    query_log: Path | None = None
    server_timing: bool = False
    metrics_enabled: bool = True
    metrics_token: str = Field(default="", repr=False)

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # One line per request on uvicorn.access (at INFO); off by default, its cost is throughput.
    access_log: bool = False
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    migrations_dir: Path = Field(default_factory=bundled_migrations)

    # Abuse limits and production safety (docs/operations.md, "Abuse limits and production
    # safety"). Limits are the `limits` library's strings: "5/minute", "10 per 15 minutes".
    rate_limit_enabled: bool = True
    rate_limit_login_account: str = "5/minute"
    rate_limit_login_address: str = "20/minute"
    rate_limit_register_address: str = "10/hour"
    rate_limit_storage_url: str = Field(default="memory://", repr=False)
    rate_limit_key_prefix: str = Field(default="conduit", min_length=1)
    password_hash_concurrency: int = Field(default=2, ge=1)
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    forwarded_allow_ips: str = "127.0.0.1"
    body_timeout_s: float = Field(default=5.0, gt=0)
    docs_enabled: bool | None = None

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("allowed_hosts")
    @classmethod
    def _valid_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if "*" in host[1:] or (host.startswith("*") and host != "*" and host[:2] != "*."):
                raise ValueError(f"{host!r}: a wildcard is only allowed as '*' or '*.domain'")
        return value

    @field_validator(
        "rate_limit_login_account", "rate_limit_login_address", "rate_limit_register_address"
    )
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        try:
            allowed = limits.parse(value).amount
        except ValueError:
            allowed = 0
        if allowed < 1:
            raise ValueError(f"{value!r} is not a rate such as '5/minute'")
        return value

    @field_validator("rate_limit_storage_url")
    @classmethod
    def _valid_storage(cls, value: str) -> str:
        if value.partition("://")[0] not in ("memory", "redis", "rediss"):
            raise ValueError("must be memory:// or a redis:// or rediss:// URL")
        return value

    @model_validator(mode="after")
    def _production_safety(self) -> Settings:
        if self.environment != "production" or not self.secret_key:
            return self  # a missing SECRET_KEY is refused below, with its own message
        if len(self.secret_key.encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(
                f"SECRET_KEY: must be at least {MIN_SECRET_KEY_BYTES} bytes when "
                "ENVIRONMENT=production"
            )
        if not self.allowed_hosts:
            raise ValueError(
                "ALLOWED_HOSTS: must be set when ENVIRONMENT=production "
                "(the host names clients use, comma-separated; * allows any)"
            )
        if self.metrics_enabled and not self.metrics_token:
            raise ValueError(
                "METRICS_TOKEN: must be set when ENVIRONMENT=production "
                "(or turn /metrics off with METRICS_ENABLED=false)"
            )
        return self

    @property
    def serves_docs(self) -> bool:
        """Whether /docs and /redoc are served: DOCS_ENABLED, else all but production."""
        return self.environment != "production" if self.docs_enabled is None else self.docs_enabled

    @field_validator("database_replica_urls", "cors_origins", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        db_url.parse(value)
        return value

    @field_validator("database_direct_url")
    @classmethod
    def _valid_direct_url(cls, value: str) -> str:
        if value:  # unset: DATABASE_URL
            db_url.parse(value)
        return value

    @field_validator("database_url", "database_direct_url")
    @classmethod
    def _valid_url_sslmode(cls, value: str) -> str:
        if value:
            tls.url_mode(db_url.parse(value))
        return value

    @field_validator("database_replica_urls")
    @classmethod
    def _valid_replicas(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            replica = db_url.parse(item)
            if replica.get_backend_name() != "postgresql":
                raise ValueError("replicas are PostgreSQL streaming replicas (postgresql://...)")
            tls.url_mode(replica)
        return value

    @model_validator(mode="after")
    def _replicas_need_postgres(self) -> Settings:
        primary = db_url.parse(self.database_url).get_backend_name()
        if self.database_replica_urls and primary != "postgresql":
            raise ValueError("DATABASE_REPLICA_URLS: needs a PostgreSQL DATABASE_URL")
        return self

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.environment == "production" and not self.secret_key:
            raise ValueError("SECRET_KEY: must be set when ENVIRONMENT=production")
        return self

    @cached_property
    def database(self) -> DatabaseConfig:
        return DatabaseConfig(
            url=self.async_database_url,
            direct_url=db_url.parse(self.database_direct_url) if self.database_direct_url else None,
            replica_urls=tuple(db_url.parse(u) for u in self.database_replica_urls),
            replica_max_lag_ms=self.replica_max_lag_ms,
            replica_check_interval_s=self.replica_check_interval_s,
            replica_pool_size=self.db_replica_pool_size,
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            pool_timeout=self.db_pool_timeout,
            pool_recycle=self.db_pool_recycle,
            pool_ping_idle_s=self.db_pool_ping_idle_s,
            statement_timeout_ms=self.db_statement_timeout_ms,
            lock_timeout_ms=self.db_lock_timeout_ms,
            share_connections=self.db_route_connections,
            connect_timeout=self.db_connect_timeout,
            sslmode=self.database_sslmode,
            pgbouncer=self.db_pgbouncer,
            echo=self.sql_echo,
            slow_query_ms=self.slow_query_ms,
            n1_threshold=self.n1_threshold,
            n1_strict=self.n1_strict,
        )

    @cached_property
    def async_database_url(self) -> URL:
        return db_url.parse(self.database_url)

    @cached_property
    def jwt_secret(self) -> str:
        if self.secret_key:
            return self.secret_key
        if self.environment == "production":
            raise SettingsError("SECRET_KEY: must be set when ENVIRONMENT=production")
        logger.warning("SECRET_KEY is not set: using a random key; tokens end with this process")
        return secrets.token_urlsafe(32)


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a malformed value raises :class:`SettingsError` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # pydantic-settings fills the rest
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a whole-model rule: its message names the variable itself
            raise SettingsError(message) from None
        raise SettingsError(f"{str(error['loc'][0]).upper()}: {message}") from None
