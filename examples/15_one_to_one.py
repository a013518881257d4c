"""15 - One-to-one with ``uselist=False``: a user and their profile.

``User.profile`` (``domain/users/models.py``) is a scalar, not a list; ``Profile.user`` is its
other side (``back_populates``). Being ``lazy="raise"``, reading it unloaded fails at once
instead of sending a hidden query; a ``joinedload`` fetches both in one statement. Conduit's
reads join the profile's columns instead of loading entities (``domain/users/service.py``
``get_active_identity``), and write it with an upsert (``update_account``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import joinedload, selectinload

from _support import Example, new_user, run
from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import User


async def main(ex: Example) -> None:
    with ex.step("a user created with a profile: two INSERTs", max_statements=2):
        async with ex.database.unit_of_work() as session:
            session.add(new_user("ada", profile=Profile(bio="first programmer")))

    async with ex.database.unit_of_work() as session:
        with ex.step("unloaded, lazy='raise' refuses: no hidden query", max_statements=1):
            plain = await session.scalar(select(User).where(User.username == "ada"))
            assert plain is not None
            try:
                _ = plain.profile
                refused = False
            except InvalidRequestError as exc:
                ex.show("reading user.profile", str(exc).split(";")[0])
                refused = True
        ex.check(refused, "lazy='raise' must refuse to load implicitly")
        session.expunge_all()

        with ex.step(
            "joinedload(User.profile): one statement, a LEFT OUTER JOIN", max_statements=1
        ):
            user = await session.scalar(
                select(User).options(joinedload(User.profile)).where(User.username == "ada")
            )
            assert user is not None
            ex.show("user.profile.bio", user.profile.bio)

        with ex.step("update through the relationship: one UPDATE", max_statements=1):
            user.profile.bio = "analyst of the Analytical Engine"
            await session.flush()
        session.expunge_all()

        with ex.step("selectinload(User.profile): two statements", max_statements=2):
            user = await session.scalar(
                select(User).options(selectinload(User.profile)).where(User.username == "ada")
            )
            assert user is not None
            ex.show("user.profile.bio", user.profile.bio)
    ex.check((user.profile.bio or "").startswith("analyst"), "the update was committed")


if __name__ == "__main__":
    run(main)
