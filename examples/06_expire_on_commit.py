"""06 - ``expire_on_commit``: whether objects keep their values after a commit.

SQLAlchemy's default (``expire_on_commit=True``) expires every loaded attribute at commit, so
the next read reloads it. In async code that reload cannot happen implicitly: reading the
attribute would need IO where none can be awaited (it fails with ``MissingGreenlet``), so you
must ``await obj.awaitable_attrs.name`` (or ``refresh``). Conduit's sessions use
``expire_on_commit=False`` (``db/session.py`` ``make_sessionmaker``), so a response can be built
from objects after the unit of work commits, at no extra statement.
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import async_sessionmaker

from _support import Example, new_user, run


async def main(ex: Example) -> None:
    expiring = async_sessionmaker(ex.database.engine, expire_on_commit=True)

    with ex.step("expire_on_commit=True: after commit, the values are gone", max_statements=2):
        async with expiring() as session:
            user = new_user("ada")
            session.add(user)
            await session.commit()
            # Reading user.username now would be an implicit reload: not allowed in async code.
            expired = sorted(inspect(user).expired_attributes)
            ex.show("expired attributes", expired)
            ex.check("username" in expired, "expire_on_commit=True should expire the values")
            # The explicit, awaitable reload (Base has AsyncAttrs): one SELECT.
            ex.show("await user.awaitable_attrs.username", await user.awaitable_attrs.username)

    with ex.step("Conduit's expire_on_commit=False: the values stay", max_statements=1):
        async with ex.database.sessions() as session:
            user = new_user("grace")
            session.add(user)
            await session.commit()
            ex.show("expired attributes", sorted(inspect(user).expired_attributes))
            ex.show("username after commit, no statement", user.username)
            ex.show("created_at (fetched by the INSERT's RETURNING)", user.created_at)
    ex.check(user.username == "grace", "the committed object should keep its values")


if __name__ == "__main__":
    run(main)
