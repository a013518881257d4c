"""The session settings every MySQL/MariaDB connection starts with, in each server's units."""

from __future__ import annotations

import pytest

from conduit.db.engine import INNODB_LOCK_WAIT_MAX_S, mysql_session_sql


@pytest.mark.parametrize(
    ("lock_ms", "seconds"),
    [(2000, 2), (1500, 2), (1, 1), (0, INNODB_LOCK_WAIT_MAX_S), (30_000, 30)],
)
def test_lock_waits_are_whole_seconds_rounded_up_and_zero_is_no_limit(
    lock_ms: int, seconds: int
) -> None:
    sql = mysql_session_sql(mariadb=True, lock_timeout_ms=lock_ms, statement_timeout_ms=None)
    assert f"innodb_lock_wait_timeout = {seconds}" in sql


def test_mariadb_limits_statements_in_seconds_and_mysql_in_milliseconds() -> None:
    mariadb = mysql_session_sql(mariadb=True, lock_timeout_ms=2000, statement_timeout_ms=2500)
    mysql = mysql_session_sql(mariadb=False, lock_timeout_ms=2000, statement_timeout_ms=2500)
    assert "max_statement_time = 2.5" in mariadb
    assert "max_execution_time" not in mariadb
    assert "max_execution_time = 2500" in mysql
    assert "max_statement_time" not in mysql


def test_every_session_is_strict_and_utc_and_may_keep_the_server_statement_limit() -> None:
    sql = mysql_session_sql(mariadb=True, lock_timeout_ms=2000, statement_timeout_ms=None)
    assert sql.startswith("SET SESSION sql_mode = '")
    assert "STRICT_ALL_TABLES" in sql
    assert "time_zone = '+00:00'" in sql
    assert "max_statement_time" not in sql


def test_migrations_bound_their_metadata_lock_waits() -> None:
    sql = mysql_session_sql(
        mariadb=False, lock_timeout_ms=2000, statement_timeout_ms=None, metadata_lock_wait_s=5
    )
    assert "lock_wait_timeout = 5" in sql
    assert "max_execution_time" not in sql
