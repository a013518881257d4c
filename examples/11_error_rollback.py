"""11 - Error rollback: a failed flush poisons the transaction until you roll back.

When a statement fails, the session's transaction is dead: every later statement raises
``PendingRollbackError`` until ``await session.rollback()``, after which the session works
again (with the failed changes gone). Conduit's unit of work does the rollback itself and
raises the error translated once (``db/session.py``, ``db/errors.py``): a unique violation is
``Conflict("uq_users_email")``, which the API answers as 409
``{"errors": {"email": ["has already been taken"]}}`` (``http/errors.py``).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, PendingRollbackError

from _support import Example, new_user, run
from conduit.db.errors import Conflict
from conduit.domain.users.models import User


async def main(ex: Example) -> None:
    async with ex.database.unit_of_work() as session:
        session.add(new_user("ada"))

    with ex.step("by hand: the duplicate fails, the session must roll back", max_statements=2):
        async with ex.database.sessions() as session:
            session.add(new_user("ada"))
            try:
                await session.flush()
            except IntegrityError as exc:
                ex.show("flush raised", type(exc).__name__)
            try:
                await session.scalar(select(func.count()).select_from(User))
            except PendingRollbackError:
                ex.show("the next statement raised", "PendingRollbackError")
            await session.rollback()
            count = await session.scalar(select(func.count()).select_from(User))
            ex.show("after rollback, users", count)
    ex.check(count == 1, "the session works again after rollback, without the duplicate")

    caught: Conflict | None = None
    with ex.step("Conduit's unit of work: rolled back and translated once", max_statements=1):
        try:
            async with ex.database.unit_of_work() as session:
                session.add(new_user("ada"))
        except Conflict as conflict:
            ex.show("raised", f"Conflict, constraint={conflict.constraint}")
            caught = conflict
    ex.check(
        caught is not None and caught.constraint in {"uq_users_email", "uq_users_username"},
        "the unit of work should raise Conflict naming the violated constraint",
    )


if __name__ == "__main__":
    run(main)
