"""04 - Savepoints: ``session.begin_nested()`` undoes part of a transaction.

A failure inside ``begin_nested()`` rolls back to the savepoint only; the rest of the unit of
work goes on and commits. Conduit restores a soft-deleted article this way
(``domain/admin/restore.py``): a slug conflict rolls back to the savepoint and answers 409
without poisoning the request's unit of work.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from _support import Example, new_user, run
from conduit.db.errors import translate
from conduit.domain.users.models import User


async def main(ex: Example) -> None:
    with ex.step("one unit of work: ada, a duplicate in a savepoint, then grace", max_statements=3):
        async with ex.database.unit_of_work() as session:
            session.add(new_user("ada"))
            await session.flush()
            try:
                async with session.begin_nested():  # SAVEPOINT
                    session.add(new_user("ada"))  # the same email and username
                    await session.flush()  # fails: ROLLBACK TO SAVEPOINT
            except IntegrityError as exc:
                ex.show("the savepoint rolled back", translate(exc))
            session.add(new_user("grace"))  # the outer transaction is still usable
            ex.show("still in the outer transaction", session.in_transaction())

    with ex.step("what was committed", max_statements=1):
        async with ex.database.sessions() as session:
            names = list(await session.scalars(select(User.username).order_by(User.username)))
            ex.show("users", names)
    ex.check(names == ["ada", "grace"], "ada and grace should be committed, the duplicate not")


if __name__ == "__main__":
    run(main)
