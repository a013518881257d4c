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

PostgreSQL's errors are told apart by SQLSTATE, MySQL's and MariaDB's by error number (a lock
wait timeout, 1205, is :class:`LockTimeout` as PostgreSQL's is: the wait would start over), and
SQLite's by message. :func:`translate` maps a SQLAlchemy or driver exception onto it; the unit
of work applies it to everything raised inside its block, so callers above the data layer never
see driver types.
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

# MySQL/MariaDB error numbers (server errors, then the client's 2xxx).
_MYSQL_CODE: dict[int, type[DatabaseError]] = {
    1062: Conflict,  # ER_DUP_ENTRY
    1586: Conflict,  # ER_DUP_ENTRY_WITH_KEY_NAME
    1451: ForeignKeyViolation,  # ER_ROW_IS_REFERENCED_2: the row is still referenced
    1452: ForeignKeyViolation,  # ER_NO_REFERENCED_ROW_2: the referenced row is missing
    1216: ForeignKeyViolation,  # ER_NO_REFERENCED_ROW
    1217: ForeignKeyViolation,  # ER_ROW_IS_REFERENCED
    3819: CheckViolation,  # MySQL: ER_CHECK_CONSTRAINT_VIOLATED
    4025: CheckViolation,  # MariaDB: ER_CONSTRAINT_FAILED
    1048: NotNullViolation,  # ER_BAD_NULL_ERROR
    1364: NotNullViolation,  # ER_NO_DEFAULT_FOR_FIELD
    1213: SerializationFailure,  # ER_LOCK_DEADLOCK
    1205: LockTimeout,  # ER_LOCK_WAIT_TIMEOUT (innodb_lock_wait_timeout)
    1969: QueryTimeout,  # MariaDB: ER_STATEMENT_TIMEOUT (max_statement_time)
    3024: QueryTimeout,  # MySQL: ER_QUERY_TIMEOUT (max_execution_time)
    1317: QueryTimeout,  # ER_QUERY_INTERRUPTED
    1040: Unavailable,  # ER_CON_COUNT_ERROR: too many connections
    1045: Unavailable,  # ER_ACCESS_DENIED_ERROR
    1049: Unavailable,  # ER_BAD_DB_ERROR: the database named in the URL does not exist
    1053: Unavailable,  # ER_SERVER_SHUTDOWN
    1927: Unavailable,  # MariaDB: ER_CONNECTION_KILLED
    4031: Unavailable,  # ER_CLIENT_INTERACTION_TIMEOUT: the server closed an idle connection
    2002: Unavailable,  # CR_CONNECTION_ERROR (socket)
    2003: Unavailable,  # CR_CONN_HOST_ERROR: cannot connect
    2006: Unavailable,  # CR_SERVER_GONE_ERROR
    2013: Unavailable,  # CR_SERVER_LOST
    2055: Unavailable,  # CR_SERVER_LOST_EXTENDED
}
# What MySQL's messages say, without the values they quote: "Duplicate entry 'x' for key ..."
# names the row's value, which must not reach a log line or a response.
_MYSQL_MESSAGE: dict[type[DatabaseError], str] = {
    Conflict: "duplicate key value violates unique constraint",
    ForeignKeyViolation: "violates foreign key constraint",
    CheckViolation: "violates check constraint",
    NotNullViolation: "a required column got NULL",
}
# The constraint a MySQL message names: "for key 'users.uq_users_email'" (MySQL 8 prefixes the
# table), "CONSTRAINT `fk_...` FOREIGN KEY", "Check constraint 'ck_...'", "CONSTRAINT `ck_...`
# failed"; NOT NULL names a column ("Column 'email' cannot be null").
_MYSQL_CONSTRAINT = re.compile(
    r"for key '(?:[^'.]*\.)?([^']+)'|CONSTRAINT `([^`]+)`|[Cc]onstraint '([^']+)'"
)
_MYSQL_WRITTEN_TABLE = re.compile(
    r"\s*(?:INSERT\s+(?:IGNORE\s+)?INTO|REPLACE\s+INTO|UPDATE)\s+`?(\w+)`?", re.IGNORECASE
)
_MYSQL_COLUMN = re.compile(r"^(?:Column|Field) '([^']+)'")

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


# ER_SP_DOES_NOT_EXIST: "SAVEPOINT ... does not exist".
_MYSQL_SAVEPOINT_GONE = 1305


def translate(exc: BaseException, *, metadata: MetaData | None = None) -> DatabaseError:
    """The :class:`DatabaseError` for ``exc`` (returned as is if it already is one)."""
    if isinstance(exc, DatabaseError):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):
        return PoolTimeout("timed out waiting for a database connection from the pool")
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return Unavailable(f"lost the database connection: {_first_line(exc.orig)}")
        # A deadlock rolls MySQL's whole transaction back, savepoints included: rolling back to
        # one then fails (1305). What went wrong is the error that led there.
        if exc.orig is not None and _mysql_code(exc.orig) == _MYSQL_SAVEPOINT_GONE:
            for cause in (exc.__context__, exc.orig.__context__):
                if isinstance(cause, sa_exc.DBAPIError):
                    return translate(cause, metadata=metadata)
        return _from_driver(exc.orig, metadata or Base.metadata, statement=exc.statement)
    if isinstance(exc, sa_exc.NoResultFound):
        return NotFound("no row was found")
    if isinstance(exc, (OSError, ConnectionError, TimeoutError)):
        return Unavailable(f"cannot reach the database: {_first_line(exc)}")
    return DatabaseError(_first_line(exc))


def _from_driver(
    orig: BaseException | None, metadata: MetaData, *, statement: str | None = None
) -> DatabaseError:
    if orig is None:
        return DatabaseError("database error")
    # Before the SQLSTATE: MySQL's errors carry one too, but too coarse (23000 for every
    # integrity error, HY000 for most others).
    mysql_code = _mysql_code(orig)
    if mysql_code is not None:
        return _from_mysql(mysql_code, orig, metadata=metadata, statement=statement)
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


def _mysql_code(orig: BaseException) -> int | None:
    """The error number of a PyMySQL (aiomysql) error: its first argument."""
    if not type(orig).__module__.startswith(("pymysql", "aiomysql")):
        return None
    code = orig.args[0] if orig.args else None
    return code if isinstance(code, int) else None


def _from_mysql(
    code: int, orig: BaseException, *, metadata: MetaData, statement: str | None
) -> DatabaseError:
    kind = _MYSQL_CODE.get(code, DatabaseError)
    text = str(orig.args[1]) if len(orig.args) > 1 else ""
    summary = _MYSQL_MESSAGE.get(kind)
    if summary is None:
        return kind(f"({code}) {_first_line_of(text) or type(orig).__name__}")
    if kind is NotNullViolation:
        column = _MYSQL_COLUMN.match(text)
        return kind(f"({code}) {summary}" + (f": {column.group(1)}" if column else ""))
    found = _MYSQL_CONSTRAINT.search(text)
    constraint = next((group for group in found.groups() if group), None) if found else None
    if constraint == "PRIMARY":
        constraint = _primary_key_name(metadata, statement)
    message = f"({code}) {summary}" + (f' "{constraint}"' if constraint else "")
    return kind(message, constraint=constraint)


def _primary_key_name(metadata: MetaData, statement: str | None) -> str | None:
    """The name of the primary key MySQL calls ``PRIMARY``: of the table the statement writes."""
    match = _MYSQL_WRITTEN_TABLE.match(statement or "")
    table = metadata.tables.get(match.group(1)) if match else None
    name = table.primary_key.name if table is not None else None
    return str(name) if name else None


def _first_line_of(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


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
