"""07 - ``refresh``: reload an object from the database.

The identity map keeps the values a session loaded; a change made around it (a Core UPDATE
without session synchronisation, another connection, a trigger) leaves them stale until
``await session.refresh(obj)``, which can also name the attributes to reload, relationships
included. The guides refresh after every insert to read generated values; Conduit's
``Timestamps`` mixin fetches them in the INSERT itself (``eager_defaults``, ``db/model.py``),
so a flushed object needs no refresh.
"""

from __future__ import annotations

from sqlalchemy import update

from _support import Example, new_user, run
from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import User


async def main(ex: Example) -> None:
    async with ex.database.unit_of_work() as session:
        with ex.step("add and flush: created_at arrives with the INSERT", max_statements=2):
            user = new_user("ada", profile=Profile(bio="first programmer"))
            session.add(user)
            await session.flush()
            ex.show("created_at without a refresh", user.created_at)

        with ex.step("an UPDATE around the identity map leaves the object stale", max_statements=1):
            await session.execute(
                update(User)
                .where(User.id == user.id)
                .values(credits=User.credits + 50)
                .execution_options(synchronize_session=False)
            )
            ex.show("user.credits, stale", user.credits)

        with ex.step("refresh(user, ['credits']): one SELECT of that column", max_statements=1):
            await session.refresh(user, ["credits"])
            ex.show("user.credits, fresh", user.credits)
        ex.check(user.credits == 50, "refresh should read the updated credits")

        # Two SELECTs: the user's row (a refresh always reloads the identity), then the profile.
        with ex.step(
            "refresh(user, ['profile']) loads a lazy='raise' relationship", max_statements=2
        ):
            await session.refresh(user, ["profile"])
            ex.show("user.profile.bio", user.profile.bio)


if __name__ == "__main__":
    run(main)
