"""22 - Bulk statements: INSERT, UPDATE and DELETE of many rows, with RETURNING and rowcount.

One statement for many rows instead of a loop of single-row changes: ``insert()`` with a list
of parameter sets, ``update()`` and ``delete()`` with a WHERE clause, ``RETURNING`` to get the
touched rows back in the same round trip, ``rowcount`` when only the number matters. Conduit's
admin operations are written this way (``domain/admin/bulk.py``: one ``UPDATE ... RETURNING``
deactivates, one ``UPDATE ... RETURNING`` plus one multi-row ledger INSERT grants credits), and
the seed loads its rows in batches (``tooling/seed/load.py``).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select, update

from _support import Example, run
from conduit.domain.credits.models import CreditTransfer
from conduit.domain.tags.models import Tag
from conduit.domain.users.models import User

NAMES = [f"user{n:02d}" for n in range(1, 21)]


async def main(ex: Example) -> None:
    async with ex.database.unit_of_work() as session:
        with ex.step("INSERT 20 users from a list of dicts: one executemany", max_statements=1):
            await session.execute(
                insert(User),
                [
                    {"email": f"{name}@example.com", "username": name, "password_hash": "-"}
                    for name in NAMES
                ],
            )

        with ex.step("INSERT ... RETURNING: the new tags' generated ids", max_statements=1):
            created = await session.execute(
                insert(Tag).returning(Tag.id, Tag.name),
                [{"name": name} for name in ("bulk", "batch", "many")],
            )
            ex.show("ids", {name: tag_id for tag_id, name in created})

        with ex.step("UPDATE ... WHERE ... RETURNING: credit the first ten", max_statements=1):
            credited = await session.execute(
                update(User)
                .where(User.username.in_(NAMES[:10]))
                .values(credits=User.credits + 25)
                .returning(User.id, User.username, User.credits)
            )
            rows = credited.all()
            ex.show("credited", [f"{username}={credits}" for _id, username, credits in rows[:3]])

        with ex.step("a ledger row per credited user: one multi-row INSERT", max_statements=1):
            await session.execute(
                insert(CreditTransfer),
                [
                    {"from_user_id": None, "to_user_id": user_id, "amount": 25}
                    for user_id, *_ in rows
                ],
            )

        with ex.step("UPDATE without RETURNING: rowcount says how many", max_statements=1):
            # execute() is typed to return a Result; a DML statement's is a CursorResult.
            result = cast(
                "CursorResult[Any]",
                await session.execute(
                    update(User).where(User.credits == 0).values(is_active=False)
                ),
            )
            ex.show("deactivated", result.rowcount)
        ex.check(result.rowcount == 10, "the ten users without credits")

        with ex.step(
            "DELETE ... RETURNING: remove the inactive, get their names", max_statements=1
        ):
            removed = list(
                await session.scalars(
                    delete(User).where(User.is_active.is_(False)).returning(User.username)
                )
            )
            ex.show("deleted", f"{len(removed)}: {removed[:3]} ...")

        with ex.step("what is left", max_statements=2):
            users = await session.scalar(select(func.count()).select_from(User))
            ledger = await session.scalar(select(func.sum(CreditTransfer.amount)))
            ex.show("users", users)
            ex.show("credits granted", ledger)
        ex.check(users == 10 and ledger == 250, "ten credited users remain, 250 credits granted")


if __name__ == "__main__":
    run(main)
