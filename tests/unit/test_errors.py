"""translate(): the mapping from SQLAlchemy and driver exceptions onto the named tree.

Real violations on both dialects are in tests/integration/test_db_errors.py; these cover the
mapping's edges with real exceptions raised by the stdlib sqlite3 driver and SQLAlchemy.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from conduit.db.errors import (
    Busy,
    CheckViolation,
    Conflict,
    DatabaseError,
    ForeignKeyViolation,
    NotFound,
    NotNullViolation,
    PoolTimeout,
    SerializationFailure,
    Unavailable,
    translate,
)


def sqlite_error(*statements: str) -> sqlite3.Error:
    """The error the last statement raises on a fresh in-memory database."""
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        for statement in statements[:-1]:
            conn.execute(statement)
        with pytest.raises(sqlite3.Error) as caught:
            conn.execute(statements[-1])
        return caught.value
    finally:
        conn.close()


def wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    error = sa_exc.DBAPIError.instance(
        "INSERT ...", {"email": "secret@example.com"}, orig, Exception
    )
    # instance() hands back any error that is not a driver's as it is; these all are.
    assert isinstance(error, sa_exc.DBAPIError)
    return error


def test_a_translated_error_is_returned_as_is() -> None:
    error = Conflict("taken", constraint="uq_users_email")
    assert translate(error) is error


def test_no_result_found_is_not_found() -> None:
    assert isinstance(translate(sa_exc.NoResultFound()), NotFound)


def test_a_pool_timeout_is_busy_and_socket_timeouts_are_unavailable() -> None:
    assert isinstance(translate(sa_exc.TimeoutError("QueuePool limit")), PoolTimeout)
    assert isinstance(translate(sa_exc.TimeoutError("QueuePool limit")), Busy)
    assert isinstance(translate(TimeoutError()), Unavailable)
    assert isinstance(translate(ConnectionRefusedError(111, "refused")), Unavailable)


def test_sqlite_unique_violation_names_the_constraint_from_the_metadata() -> None:
    orig = sqlite_error(
        "CREATE TABLE users (email TEXT, CONSTRAINT uq_users_email UNIQUE (email))",
        "INSERT INTO users VALUES ('a')",
        "INSERT INTO users VALUES ('a')",
    )
    error = translate(wrapped(orig))
    assert isinstance(error, Conflict)
    assert error.constraint == "uq_users_email"
    # The parameters SQLAlchemy attaches to its message never reach ours.
    assert "secret@example.com" not in error.message
    assert "\n" not in error.message


def test_sqlite_unique_violation_on_an_unknown_table_has_no_constraint_name() -> None:
    orig = sqlite_error(
        "CREATE TABLE scratch (x TEXT UNIQUE)",
        "INSERT INTO scratch VALUES ('a')",
        "INSERT INTO scratch VALUES ('a')",
    )
    error = translate(wrapped(orig))
    assert isinstance(error, Conflict)
    assert error.constraint is None


@pytest.mark.parametrize(
    ("statements", "kind", "constraint"),
    [
        (
            (
                "CREATE TABLE t (x INT, CONSTRAINT ck_t_positive CHECK (x > 0))",
                "INSERT INTO t VALUES (0)",
            ),
            CheckViolation,
            "ck_t_positive",
        ),
        (
            ("CREATE TABLE t (x INT NOT NULL)", "INSERT INTO t VALUES (NULL)"),
            NotNullViolation,
            None,
        ),
        (
            (
                "CREATE TABLE p (id INTEGER PRIMARY KEY)",
                "CREATE TABLE c (p_id INTEGER REFERENCES p (id))",
                "INSERT INTO c VALUES (1)",
            ),
            ForeignKeyViolation,
            None,
        ),
    ],
)
def test_sqlite_constraint_kinds(
    statements: tuple[str, ...], kind: type[DatabaseError], constraint: str | None
) -> None:
    error = translate(wrapped(sqlite_error(*statements)))
    assert type(error) is kind
    assert error.constraint == constraint


def test_a_locked_sqlite_database_is_a_serialization_failure() -> None:
    error = translate(wrapped(sqlite3.OperationalError("database is locked")))
    assert isinstance(error, SerializationFailure)


def test_an_invalidated_connection_is_unavailable() -> None:
    wrapper = sa_exc.DBAPIError.instance(
        "SELECT 1",
        {},
        sqlite3.OperationalError("disk I/O error"),
        Exception,
        connection_invalidated=True,
    )
    assert isinstance(translate(wrapper), Unavailable)


def test_anything_else_is_a_plain_database_error_with_its_first_line() -> None:
    error = translate(RuntimeError("first line\nsecond line with secrets"))
    assert type(error) is DatabaseError
    assert error.message == "first line"
