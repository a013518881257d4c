"""``assert_max_statements(n)``: pin how many SQL statements a block sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from conduit.db.instrument import StatementStats, track


@contextmanager
def assert_max_statements(limit: int) -> Iterator[StatementStats]:
    """Fail if the block sends more than ``limit`` statements (the message lists them)."""
    with track() as stats:
        yield stats
    if stats.count > limit:
        listing = "\n".join(
            f"  {i + 1}. {sql.strip()[:200]}" for i, sql in enumerate(stats.statements)
        )
        raise AssertionError(f"expected at most {limit} statements, got {stats.count}:\n{listing}")


@contextmanager
def count_statements() -> Iterator[StatementStats]:
    """Record the statements of the block without asserting anything."""
    with track() as stats:
        yield stats


def mysql_extra(dialect: str, statements: int = 1) -> int:
    """Statements MySQL/MariaDB send beyond PostgreSQL and SQLite for a guarded UPDATE whose
    rows the caller needs back: without ``UPDATE ... RETURNING`` it becomes a locking read
    and the UPDATE, or the UPDATE and a read (:func:`conduit.db.dialect.claim`)."""
    return statements if dialect == "mysql" else 0
