"""03 - Explicit transaction blocks: ``session.begin()`` and ``engine.begin()``.

``async with session.begin():`` commits when the block ends and rolls back when it raises; so
does ``async with engine.begin() as conn:`` for Core statements. Conduit's own: the export's
snapshot (``domain/admin/export.py``: ``conn.begin()`` at ``REPEATABLE READ``) and the
migrations (Alembic's ``env.py`` runs each revision in a transaction of its own).
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from _support import Example, new_user, run
from conduit.domain.users.models import User


class ChangedMyMind(Exception):
    pass


async def count_users(ex: Example) -> int:
    async with ex.database.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(User))).scalar_one())


async def main(ex: Example) -> None:
    with ex.step("ORM: session.begin() commits at the end of the block", max_statements=1):
        async with ex.database.sessions() as session:
            async with session.begin():
                session.add(new_user("ada"))
                ex.show("in a transaction inside the block", session.in_transaction())
            ex.show("in a transaction after the block", session.in_transaction())

    with ex.step("Core: engine.begin() runs an UPDATE and commits", max_statements=1):
        async with ex.database.engine.begin() as conn:
            result = await conn.execute(
                update(User).where(User.username == "ada").values(credits=User.credits + 10)
            )
            ex.show("rows updated", result.rowcount)

    with ex.step("a block that raises rolls back everything in it", max_statements=2):
        async with ex.database.sessions() as session:
            try:
                async with session.begin():
                    session.add(new_user("grace"))
                    await session.flush()  # the INSERT is sent...
                    raise ChangedMyMind  # ...and rolled back here
            except ChangedMyMind:
                ex.show("raised", "ChangedMyMind; the block rolled back")
        users = await count_users(ex)
        ex.show("users in the database", users)
    ex.check(users == 1, "the rolled-back INSERT must not be kept")


if __name__ == "__main__":
    run(main)
