"""Bulk loading with COPY: rows streamed into a table on the driver connection under SQLAlchemy's.

PostgreSQL's COPY is the fastest way in, and asyncpg exposes it only on its own connection
(``copy_records_to_table``), not through SQLAlchemy. The driver is the database layer's business,
so this is the one place that reaches it: callers (the seed loader) hand over a SQLAlchemy
connection and get a typed :class:`Copier`, or ``None`` where the dialect has no COPY and they
insert in batches instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.db.engine import transaction_statement_timeout


class Copier:
    """COPY into tables on one asyncpg connection, inside the transaction SQLAlchemy opened."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    async def copy_rows(
        self, *, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        """Stream ``rows`` (tuples in ``columns`` order) into ``table``."""
        try:
            await self._driver.copy_records_to_table(table, records=rows, columns=list(columns))
        except asyncpg.PostgresError as exc:
            # Raised by the driver itself, not through SQLAlchemy: wrap it as SQLAlchemy would,
            # so the unit of work translates it like any other database error.
            raise DBAPIError(f"COPY {table}", None, exc) from exc


async def copier(conn: AsyncConnection) -> Copier | None:
    """A :class:`Copier` on the asyncpg connection under ``conn`` on PostgreSQL, else None."""
    if conn.dialect.name != "postgresql":
        return None
    # COPY must join the transaction SQLAlchemy opened, which asyncpg only begins with the
    # first statement: make sure one has run. It lifts the engine's statement timeout (a
    # request's) for this transaction: a COPY of millions of rows runs for minutes.
    await conn.execute(transaction_statement_timeout(0))
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    assert driver.is_in_transaction()
    return Copier(driver)
