"""SQL that differs by dialect, spelled once: the ``ON CONFLICT`` insert, LIKE escaping, and
guarded updates where UPDATE cannot return rows (MariaDB, MySQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self, cast

from sqlalchemy import ColumnElement, CursorResult, Executable, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

# The escape character of every LIKE pattern built from user input.
LIKE_ESCAPE = "\\"


class MySQLInsert(mysql.Insert):
    """MySQL's INSERT under PostgreSQL's names, so one call site serves every dialect.

    - ``on_conflict_do_nothing()`` is ``INSERT IGNORE``: a row that would duplicate any unique
      key is skipped, and ``RETURNING`` (MariaDB) returns only the rows inserted, as with
      ``ON CONFLICT DO NOTHING``. IGNORE also turns other errors of the row (a missing foreign
      key, a value that does not fit) into skips: callers insert rows whose references they
      have just read, with values the API validated.
    - ``on_conflict_do_update(set_=...)`` is ``ON DUPLICATE KEY UPDATE``, ``excluded`` the
      proposed row (``VALUES(col)``). MySQL has no conflict target: any unique key conflicts,
      so the tables it serves have one unique key the insert can collide on.
    """

    inherit_cache = True

    @property
    def excluded(self) -> Any:
        return self.inserted

    def on_conflict_do_nothing(self, index_elements: Any = None) -> Self:
        return self.prefix_with("IGNORE")

    def on_conflict_do_update(self, *, index_elements: Any = None, set_: dict[str, Any]) -> Self:
        return self.on_duplicate_key_update(set_)


def dialect_insert(
    session: AsyncSession, entity: Any
) -> postgresql.Insert | sqlite.Insert | MySQLInsert:
    """An INSERT with the ``ON CONFLICT`` clauses of the session's dialect.

    Every dialect spells ``on_conflict_do_nothing()`` and ``on_conflict_do_update()`` alike.
    """
    return insert_for(session.get_bind().dialect.name, entity)


def insert_for(dialect: str, entity: Any) -> postgresql.Insert | sqlite.Insert | MySQLInsert:
    """:func:`dialect_insert` for the dialect named ``dialect``: for statements built once per
    dialect, before any session."""
    if dialect == "postgresql":
        return postgresql.insert(entity)
    if dialect == "mysql":
        return MySQLInsert(entity)
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


def is_mysql(session: AsyncSession) -> bool:
    """Whether the session talks to MySQL or MariaDB."""
    return session.get_bind().dialect.name == "mysql"


def updates_return(session: AsyncSession) -> bool:
    """Whether the session's database has ``UPDATE ... RETURNING`` (PostgreSQL, SQLite; not
    MariaDB or MySQL, whose guarded updates use :func:`claim` instead)."""
    return bool(session.get_bind().dialect.update_returning)


async def claim(
    session: AsyncSession,
    entity: Any,
    *,
    where: Sequence[ColumnElement[bool]],
    values: dict[str, Any],
    returning: Sequence[Any],
) -> Sequence[Any]:
    """``UPDATE entity SET values WHERE where RETURNING returning``, on every dialect.

    Where UPDATE cannot return (MariaDB, MySQL), the rows are claimed first: ``SELECT id,
    returning ... WHERE where ORDER BY id FOR UPDATE``, then ``UPDATE ... WHERE id IN (...)``
    (1 more statement). InnoDB's locking read waits for a writer holding a row and then reads
    the row's newest committed version, so the guard in ``where`` is judged on what the UPDATE
    will change, as PostgreSQL re-checks a row it waited for; the rows are locked in id order.
    ``returning`` must not name a column in ``values`` (the claimed rows hold the old values);
    the rows carry one more column, ``claimed_id``, on those databases.
    """
    if updates_return(session):
        result = await session.execute(
            update(entity)
            .where(*where)
            .values(**values)
            .returning(*returning)
            .execution_options(synchronize_session=False)
        )
        return result.all()
    key = entity.id.label("claimed_id")
    claimed = (
        await session.execute(
            select(*returning, key).where(*where).order_by(entity.id).with_for_update()
        )
    ).all()
    if claimed:
        await session.execute(
            update(entity)
            .where(entity.id.in_([row.claimed_id for row in claimed]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return claimed


async def matched(session: AsyncSession, statement: Executable) -> int:
    """Run an UPDATE or DELETE; how many rows its WHERE matched.

    Matched, not changed, on every dialect: MySQL reports changed rows unless the client asks
    for found rows, which SQLAlchemy's MySQL drivers do.
    """
    result = cast("CursorResult[Any]", await session.execute(statement))
    return result.rowcount


async def hold_parent(session: AsyncSession, entity: Any, key: Any) -> None:
    """On MySQL, lock the row ``key`` of ``entity`` before inserting rows that reference it
    and then updating it (a kept count): 1 statement there, none elsewhere.

    InnoDB checks a foreign key by taking a shared lock on the parent row, which the later
    UPDATE must upgrade: two writers that each inserted a child would wait for each other (a
    deadlock, 1213). Holding the row first queues them instead. PostgreSQL's foreign key lock
    (KEY SHARE) does not conflict with the UPDATE's, and SQLite has one writer at a time.
    """
    if is_mysql(session):
        await session.execute(select(entity.id).where(entity.id == key).with_for_update())
