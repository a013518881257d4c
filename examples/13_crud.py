"""13 - ORM CRUD: ``add``, ``get``, ``refresh``, attribute updates, ``delete``, ``add_all``.

The guides' create-read-update-delete on Conduit's ``User`` and ``Tag``. Conduit's services
mostly write with single guarded statements instead (``UPDATE ... WHERE <old state>
RETURNING``: ``domain/users/service.py``, ``domain/admin/bulk.py``) so that a state change
happens once under concurrency; the unit-of-work style below serves rich logic and tests.
"""

from __future__ import annotations

from sqlalchemy import select

from _support import Example, new_user, run
from conduit.domain.tags.models import Tag
from conduit.domain.users.models import User


async def main(ex: Example) -> None:
    with ex.step("create, the guides' way: add, commit, refresh", max_statements=2):
        async with ex.database.sessions() as session:
            user = new_user("ada")
            session.add(user)
            await session.commit()
            await session.refresh(user)  # not needed here: Timestamps fetch with RETURNING
            ex.show("created", f"{user.username} id={user.id}")
    user_id = user.id

    async with ex.database.unit_of_work() as session:
        with ex.step("get by primary key: one SELECT, then the identity map", max_statements=1):
            found = await session.get(User, user_id)
            again = await session.get(User, user_id)  # no statement: already in the session
            ex.show("the same object twice", found is again)
        ex.check(found is not None, "get() should find the user")
        assert found is not None

        with ex.step("attribute update: the flush sends one UPDATE", max_statements=1):
            before = found.updated_at
            found.credits = 250
            await session.flush()
            ex.show("credits", found.credits)
            ex.show("updated_at moved (RETURNING)", found.updated_at > before)

        with ex.step("add_all: three tags in one flush", max_statements=ex.inserts(3)):
            session.add_all([Tag(name=name) for name in ("python", "sql", "async")])
            await session.flush()

        with ex.step("select ... where: scalar_one_or_none", max_statements=1):
            tag = (await session.execute(select(Tag).where(Tag.name == "sql"))).scalar_one_or_none()
            ex.show("found", tag and tag.name)

        with ex.step("delete: the flush sends one DELETE", max_statements=1):
            await session.delete(found)
            await session.flush()
            ex.show("deleted", found.username)

    with ex.step("read back in a new session", max_statements=2):
        async with ex.database.reader() as session:
            gone = await session.get(User, user_id)
            tags = list(await session.scalars(select(Tag.name).order_by(Tag.name)))
            ex.show("user", gone)
            ex.show("tags", tags)
    ex.check(gone is None and tags == ["async", "python", "sql"], "user deleted, tags kept")


if __name__ == "__main__":
    run(main)
