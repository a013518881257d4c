"""The declarative base, its constraint naming convention, and the column mixins.

Timestamps are timezone-aware and set by the database. SQLite keeps no zone and
``CURRENT_TIMESTAMP`` there has whole seconds only, so :func:`utcnow` renders a millisecond
UTC clock on SQLite and :class:`UTCDateTime` re-attaches UTC to every value it reads. On
PostgreSQL it is ``statement_timestamp()``, not ``now()``: ``now()`` is frozen for the whole
transaction, so rows written by one unit of work would share one instant and an update in the
same transaction would leave ``updated_at`` unchanged; SQLite's clock is per statement too.
On MySQL and MariaDB timestamps are ``DATETIME(6)`` holding UTC (the type keeps no zone either;
every connection's session time zone is UTC) and the clock is ``UTC_TIMESTAMP(6)``, per
statement as well.

UUID keys (:class:`CompactUuid`) are PostgreSQL's native ``uuid`` and ``BINARY(16)`` on MySQL:
16 bytes, compared byte-wise, so version 7 keys keep their time order there too.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from typing import Any, ClassVar

from sqlalchemy import BigInteger, DateTime, Identity, Integer, MetaData, TypeDecorator, Uuid
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class CompactUuid(TypeDecorator[uuid.UUID]):
    """A UUID in 16 bytes: native ``uuid`` on PostgreSQL, ``BINARY(16)`` on MySQL.

    SQLAlchemy's ``Uuid`` would be ``CHAR(32)`` on MySQL: twice the bytes in every key and in
    every index that carries one (docs/operations.md has the measurement). SQLite keeps
    ``Uuid``'s ``CHAR(32)``. Use it for every UUID column and bound UUID parameter.
    """

    impl = Uuid
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.BINARY(16))
        return dialect.type_descriptor(Uuid())

    def process_bind_param(self, value: uuid.UUID | str | None, dialect: Any) -> Any:
        if value is None or dialect.name != "mysql":
            return value
        return (value if isinstance(value, uuid.UUID) else uuid.UUID(value)).bytes

    def process_literal_param(self, value: uuid.UUID | str | None, dialect: Any) -> str:
        if value is None:
            return "NULL"
        key = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
        if dialect.name == "mysql":
            return f"X'{key.hex}'"
        return f"'{key}'" if dialect.name == "postgresql" else f"'{key.hex}'"

    def process_result_value(self, value: Any, dialect: Any) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        if isinstance(value, (bytes, bytearray)):
            return uuid.UUID(bytes=bytes(value))
        return uuid.UUID(str(value))

    @property
    def python_type(self) -> type[uuid.UUID]:
        return uuid.UUID


class Base(AsyncAttrs, DeclarativeBase):
    """Base class of every Conduit table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # A column annotated Mapped[uuid.UUID] is 16 bytes on MySQL too (see CompactUuid).
    type_annotation_map: ClassVar[dict[Any, Any]] = {uuid.UUID: CompactUuid}


_uuid7_lock = threading.Lock()
_uuid7_last = 0


def uuid7() -> uuid.UUID:
    """A version 7 UUID (RFC 9562), strictly increasing within this process.

    48 bits of Unix milliseconds, 12 bits of sub-millisecond time, then 62 random bits. Keys
    made this way are ordered by creation time, so B-tree inserts stay at the right edge. The
    sub-millisecond bits (RFC 9562 section 6.2, method 3) and a guard that never hands out a
    timestamp twice keep one process's keys increasing even within a millisecond: ordering by
    key is a stable tiebreaker for rows created together.
    """
    global _uuid7_last  # noqa: PLW0603 - the one piece of state monotonicity needs
    nanos = time.time_ns()
    stamp = (nanos // 1_000_000) << 12 | (nanos % 1_000_000) * 4096 // 1_000_000
    with _uuid7_lock:
        stamp = max(stamp, _uuid7_last + 1)
        _uuid7_last = stamp
    millis, fraction = stamp >> 12, stamp & 0xFFF
    random_bits = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | fraction << 64 | 0b10 << 62 | random_bits
    return uuid.UUID(int=value)


class utcnow(FunctionElement[dt.datetime]):  # noqa: N801 - reads as the SQL function it renders
    """The current UTC time with at least millisecond precision, on every dialect."""

    type = DateTime(timezone=True)
    inherit_cache = True


@compiles(utcnow)
def _utcnow_default(_element: utcnow, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "statement_timestamp()"


@compiles(utcnow, "mysql")
def _utcnow_mysql(_element: utcnow, _compiler: SQLCompiler, **_kw: Any) -> str:
    # In parentheses: MySQL takes an expression as a column default only in them (MariaDB
    # either way); the session zone does not matter, unlike CURRENT_TIMESTAMP's.
    return "(UTC_TIMESTAMP(6))"


@compiles(utcnow, "sqlite")
def _utcnow_sqlite(_element: utcnow, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now'))"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """``TIMESTAMP WITH TIME ZONE`` that always hands back an aware UTC datetime.

    ``DATETIME(6)`` holding UTC on MySQL, which has no zone-keeping type (its ``TIMESTAMP``
    ends in 2038).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        if dialect.name in ("sqlite", "mysql"):
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class UUIDv7PrimaryKey:
    """A UUID v7 primary key generated by the application."""

    id: Mapped[uuid.UUID] = mapped_column(
        CompactUuid, primary_key=True, default=uuid7, sort_order=-10
    )


class BigIntIdentityKey:
    """A 64-bit identity primary key (a plain INTEGER rowid on SQLite)."""

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True, sort_order=-10
    )


class Timestamps:
    """``created_at`` set on insert and ``updated_at`` on every update, both by the database.

    ``eager_defaults`` fetches both with RETURNING in the INSERT or UPDATE itself: otherwise
    the flush expires them and the next read is a lazy load, which async sessions cannot do.
    """

    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}

    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, server_default=utcnow(), nullable=False, sort_order=10
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, server_default=utcnow(), onupdate=utcnow(), nullable=False, sort_order=10
    )


class SoftDelete:
    """Rows are marked deleted rather than removed; reads filter on ``deleted_at IS NULL``."""

    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None, sort_order=11)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
