"""PostgreSQL query plans for the plan tests: the statements as an endpoint sends them, planned.

:func:`sent_statements` records what the driver is sent (SQL and parameters, as executed);
:func:`explain` plans one of them on a connection, ``EXPLAIN (FORMAT JSON)`` or, with
``analyze=True``, ``EXPLAIN (ANALYZE, FORMAT JSON)`` (which runs it: keep it inside the test's
transaction); :func:`nodes` walks a plan's tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``plan`` and every node under it, depth first."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


@contextmanager
def sent_statements(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The statements ``engine`` sends during the block, with their parameters, in order."""
    sent: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        # before_cursor_execute(conn, cursor, statement, parameters, context, executemany)
        sent.append((args[2], args[3]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def explain(
    connection: AsyncConnection, sql: str, params: Any, *, analyze: bool = False
) -> dict[str, Any]:
    """The plan's root node of ``sql`` with ``params`` (as the driver took them)."""
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    result = await connection.exec_driver_sql(f"EXPLAIN ({options}) {sql}", params)
    document = result.scalar_one()
    if isinstance(document, str):
        document = json.loads(document)
    plan: dict[str, Any] = document[0]["Plan"]
    return plan
