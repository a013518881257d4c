"""Database errors, translated once into a small named tree.

::

    DatabaseError
    ├── NotFound                 a row the caller required does not exist
    ├── IntegrityError           a constraint refused the write (``constraint`` names it)
    │   ├── Conflict             unique or primary key violation
    │   ├── ForeignKeyViolation  a referenced row is missing, or still referenced
    │   ├── CheckViolation       a CHECK constraint failed
    │   └── NotNullViolation     a required column got NULL
    ├── Retryable                the transaction may succeed if run again
    │   └── SerializationFailure serialization failure or deadlock (SQLSTATE 40001, 40P01)
    ├── Busy                     a bounded wait ran out; the same request may succeed later
    │   ├── LockTimeout          a lock was not granted within ``lock_timeout`` (SQLSTATE 55P03)
    │   ├── QueryTimeout         the statement ran past ``statement_timeout`` (SQLSTATE 57014)
    │   └── PoolTimeout          no pooled connection was free within the checkout timeout
    └── Unavailable              the database cannot be reached, or the connection was lost

:func:`translate` maps a SQLAlchemy or driver exception onto it; the unit of work applies it to
everything raised inside its block, so callers above the data layer never see driver types.
Messages never contain parameter values.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from sqlalchemy import MetaData, PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy import exc as sa_exc

from conduit.db.model import Base


class DatabaseError(Exception):
    """Base of every translated database error."""

    def __init__(self, message: str, *, constraint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.constraint = constraint


class NotFound(DatabaseError):
    """A row the caller required does not exist."""


class IntegrityError(DatabaseError):
    """A constraint refused the write."""


class Conflict(IntegrityError):
    """A unique or primary key constraint was violated."""


class ForeignKeyViolation(IntegrityError):
    """A foreign key constraint was violated."""


class CheckViolation(IntegrityError):
    """A CHECK constraint was violated."""


class NotNullViolation(IntegrityError):
    """A NOT NULL constraint was violated."""


class Retryable(DatabaseError):
    """Running the same transaction again may succeed."""


class SerializationFailure(Retryable):
    """A serialization failure or deadlock aborted the transaction."""


class Busy(DatabaseError):
    """A bounded wait ran out: the database is busy, not broken, so a later try may succeed.

    Unlike :class:`Retryable`, running again at once is no help: the wait would start over.
    """


class LockTimeout(Busy):
    """A lock was not granted within ``lock_timeout``."""


class QueryTimeout(Busy):
    """A statement was cancelled for running too long."""


class PoolTimeout(Busy):
    """No pooled connection became free within the checkout timeout."""


class Unavailable(DatabaseError):
    """The database cannot be reached or the connection was lost."""


_SQLSTATE: dict[str, type[DatabaseError]] = {
    "23505": Conflict,
    "23503": ForeignKeyViolation,
    "23514": CheckViolation,
    "23502": NotNullViolation,
    "40001": SerializationFailure,
    "40P01": SerializationFailure,
    "55P03": LockTimeout,
    "57014": QueryTimeout,
    "57P01": Unavailable,  # admin_shutdown
    "57P03": Unavailable,  # cannot_connect_now
    "3D000": Unavailable,  # the database named in the URL does not exist
}
# 08 connection exceptions, 28 authorization failures, 53 insufficient resources.
_SQLSTATE_CLASS: dict[str, type[DatabaseError]] = {
    "08": Unavailable,
    "28": Unavailable,
    "53": Unavailable,
}

_SQLITE_KIND: dict[str, type[IntegrityError]] = {
    "UNIQUE": Conflict,
    "PRIMARY KEY": Conflict,
    "FOREIGN KEY": ForeignKeyViolation,
    "CHECK": CheckViolation,
    "NOT NULL": NotNullViolation,
}
_SQLITE_MESSAGE = re.compile(
    r"^(UNIQUE|PRIMARY KEY|FOREIGN KEY|CHECK|NOT NULL) constraint failed(?:: (.*))?$"
)


def translate(exc: BaseException, *, metadata: MetaData | None = None) -> DatabaseError:
    """The :class:`DatabaseError` for ``exc`` (returned as is if it already is one)."""
    if isinstance(exc, DatabaseError):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):
        return PoolTimeout("timed out waiting for a database connection from the pool")
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return Unavailable(f"lost the database connection: {_first_line(exc.orig)}")
        return _from_driver(exc.orig, metadata or Base.metadata)
    if isinstance(exc, sa_exc.NoResultFound):
        return NotFound("no row was found")
    if isinstance(exc, (OSError, ConnectionError, TimeoutError)):
        return Unavailable(f"cannot reach the database: {_first_line(exc)}")
    return DatabaseError(_first_line(exc))


def _from_driver(orig: BaseException | None, metadata: MetaData) -> DatabaseError:
    if orig is None:
        return DatabaseError("database error")
    sqlstate = _sqlstate(orig)
    if sqlstate is not None:
        kind = _SQLSTATE.get(sqlstate) or _SQLSTATE_CLASS.get(sqlstate[:2], DatabaseError)
        return kind(_first_line(orig), constraint=_pg_constraint(orig))
    if isinstance(orig, sqlite3.Error):
        return _from_sqlite(orig, metadata)
    if isinstance(orig, (OSError, ConnectionError, TimeoutError)):
        return Unavailable(f"cannot reach the database: {_first_line(orig)}")
    return DatabaseError(_first_line(orig))


def _sqlstate(orig: BaseException) -> str | None:
    for candidate in (orig, orig.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def _pg_constraint(orig: BaseException) -> str | None:
    for candidate in (orig, orig.__cause__):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


def _from_sqlite(orig: sqlite3.Error, metadata: MetaData) -> DatabaseError:
    message = _first_line(orig)
    match = _SQLITE_MESSAGE.match(message)
    if match is None:
        if isinstance(orig, sqlite3.OperationalError) and "locked" in message:
            return SerializationFailure(message)
        if isinstance(orig, sqlite3.OperationalError) and "unable to open" in message:
            return Unavailable(message)
        return DatabaseError(message)
    kind = _SQLITE_KIND[match.group(1)]
    detail = match.group(2) or ""
    if kind is CheckViolation:
        return kind(message, constraint=detail or None)
    return kind(message, constraint=_constraint_for_columns(metadata, detail))


def _constraint_for_columns(metadata: MetaData, detail: str) -> str | None:
    """Name the constraint behind SQLite's ``table.col, table.col`` list from the metadata."""
    columns = [part.strip() for part in detail.split(",") if "." in part]
    if not columns:
        return None
    table_name = columns[0].split(".", 1)[0]
    wanted = {part.split(".", 1)[1] for part in columns}
    table = metadata.tables.get(table_name)
    if table is None:
        return None
    candidates: list[Any] = [
        *(c for c in table.constraints if isinstance(c, (UniqueConstraint, PrimaryKeyConstraint))),
        *(i for i in table.indexes if i.unique),
    ]
    for candidate in candidates:
        if {column.name for column in candidate.columns} == wanted and candidate.name:
            return str(candidate.name)
    return None


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__
