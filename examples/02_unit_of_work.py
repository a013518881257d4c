"""02 - A unit of work by hand: one session, several changes, one commit.

Outside a request (a CLI command, a job) you open the session yourself. The guides write
``async with AsyncSessionLocal() as session: ...; await session.commit()``. Conduit's
``Database.unit_of_work()`` (``conduit.db.session``) is that block with the rest built in: it
commits when the block ends, rolls back on any error, translates database errors once
(``conduit.db.errors``) and counts the statements it sent. ``conduit db seed`` and every CLI
command that writes use it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from _support import Example, new_user, run
from conduit.db.session import statement_stats
from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import User


async def main(ex: Example) -> None:
    with ex.step(
        "the guides' form: a session from the factory, commit at the end", max_statements=1
    ):
        async with ex.database.sessions() as session:
            session.add_all([new_user("ada"), new_user("grace")])
            await session.commit()  # flushes both users in one multi-row INSERT, then commits

    with ex.step(
        "Conduit's unit_of_work(): a user and a profile, committed together", max_statements=2
    ):
        async with ex.database.unit_of_work() as session:
            user = new_user("edsger")
            session.add(user)
            await session.flush()  # the user's row first: the profile refers to it
            session.add(Profile(user_id=user.id, bio="Goto considered harmful"))
            # No commit here: the block commits when it ends (the profile's INSERT flushes then).
            stats = statement_stats(session)
            ex.show("statements so far, as the unit of work counts them", stats and stats.count)

    with ex.step("read them back in a new session", max_statements=1):
        async with ex.database.sessions() as session:
            rows = await session.execute(
                select(User.username, Profile.bio)
                .outerjoin(Profile, Profile.user_id == User.id)
                .order_by(User.username)
            )
            found = [tuple(row) for row in rows]
            ex.show("users", found)
    ex.check(len(found) == 3, "three users should have been committed")

    with ex.step("count them with an aggregate", max_statements=1):
        async with ex.database.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(User))
            ex.show("count", total)


if __name__ == "__main__":
    run(main)
