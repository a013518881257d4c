"""12 - Read-only sessions: reads without a transaction, and transactions that cannot write.

Conduit reads ``GET`` requests on ``Database.reader()`` (``db/session.py``, ``http/deps.py``):
on PostgreSQL its connections are in autocommit, so a read is its statements and nothing else,
no ``BEGIN``/``COMMIT`` round trips. Where a read must also be one snapshot, the transaction
is declared read-only (``domain/admin/export.py``: ``REPEATABLE READ READ ONLY``): the
database then refuses any write in it. SQLite's nearest switch is ``PRAGMA query_only``.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from _support import Example, run
from conduit.db.errors import translate
from conduit.domain.articles.models import Article
from conduit.domain.users.models import User


async def main(ex: Example) -> None:
    await ex.seed(users=5, articles=10)

    with ex.step("Database.reader(): a read, no transaction on PostgreSQL", max_statements=1):
        async with ex.database.reader() as session:
            connection = await session.connection()
            options = connection.sync_connection.get_execution_options()  # type: ignore[union-attr]
            level = options.get("isolation_level", "(a transaction)")
            ex.show("isolation_level", level)
            live = select(func.count()).select_from(Article).where(Article.deleted_at.is_(None))
            ex.show("live articles", await session.scalar(live))

    # PostgreSQL: SET TRANSACTION READ ONLY (sent by the driver, not counted); SQLite: the
    # PRAGMA on, the UPDATE, the PRAGMA off again (the connection goes back to the pool).
    with ex.step("a read-only transaction refuses to write", max_statements=3):
        async with ex.database.engine.connect() as plain:
            conn = plain
            if ex.dialect == "postgresql":
                conn = await plain.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            else:
                await conn.exec_driver_sql("PRAGMA query_only = ON")
            try:
                await conn.execute(update(User).values(credits=User.credits + 1))
                refused = False
            except DBAPIError as exc:
                ex.show("the UPDATE failed", translate(exc))
                refused = True
            await conn.rollback()
            if ex.dialect == "sqlite":
                await conn.exec_driver_sql("PRAGMA query_only = OFF")
    ex.check(refused, "a read-only transaction must refuse the UPDATE")

    with ex.step("nothing changed", max_statements=1):
        async with ex.database.reader() as session:
            total = await session.scalar(select(func.sum(User.credits)))
            ex.show("credits in total", total)
            ex.check(total == 500, "the seeded credits (5 users x 100) are untouched")


if __name__ == "__main__":
    run(main)
