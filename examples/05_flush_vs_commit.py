"""05 - Flush vs commit: a flush sends the SQL, a commit makes it visible and durable.

``flush()`` sends the pending INSERT/UPDATE/DELETE inside the open transaction: the row gets its
database defaults (Conduit's ``Timestamps`` fetch them with RETURNING) and constraints are
checked, but no other connection sees it until ``commit()``, and ``rollback()`` still undoes it.
Conduit's services only flush (``domain/*/service.py``); the unit of work at the edge commits
(``db/session.py``), so a request's changes are all-or-nothing.
"""

from __future__ import annotations

from sqlalchemy import func, select

from _support import Example, new_user, run
from conduit.domain.users.models import User


async def visible_elsewhere(ex: Example, name: str) -> int:
    """How many users named ``name`` another connection sees."""
    async with ex.database.sessions() as other:
        counted = await other.scalar(
            select(func.count()).select_from(User).where(User.username == name)
        )
        return int(counted or 0)


async def main(ex: Example) -> None:
    async with ex.database.sessions() as session:
        with ex.step("flush: the INSERT is sent; defaults come back with it", max_statements=1):
            user = new_user("ada")
            session.add(user)
            await session.flush()
            ex.show("created_at, set by the database", user.created_at)

        with ex.step("another connection does not see the flushed row", max_statements=1):
            seen = await visible_elsewhere(ex, "ada")
            ex.show("rows seen", seen)
        ex.check(seen == 0, "an uncommitted row must be invisible to other connections")

        with ex.step("commit, and now it does", max_statements=1):
            await session.commit()
            seen = await visible_elsewhere(ex, "ada")
            ex.show("rows seen", seen)
        ex.check(seen == 1, "a committed row must be visible")

        with ex.step("flush then rollback: nothing is kept", max_statements=2):
            session.add(new_user("grace"))
            await session.flush()
            await session.rollback()
            seen = await visible_elsewhere(ex, "grace")
            ex.show("rows seen", seen)
        ex.check(seen == 0, "a rolled-back flush must leave nothing")


if __name__ == "__main__":
    run(main)
