"""SQL that differs by dialect, spelled once: the ``ON CONFLICT`` insert and LIKE escaping."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

# The escape character of every LIKE pattern built from user input.
LIKE_ESCAPE = "\\"


def dialect_insert(session: AsyncSession, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with the ``ON CONFLICT`` clauses of the session's dialect.

    Both dialects spell ``on_conflict_do_nothing()`` and ``on_conflict_do_update()`` alike.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(entity)
    return sqlite.insert(entity)


def escape_like(text: str) -> str:
    """``text`` for a LIKE pattern that matches it literally: ``%`` and ``_`` lose their power.

    Use with ``escape=LIKE_ESCAPE``; the escape character itself is escaped first.
    """
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
