"""10 - ``run_sync``: call synchronous SQLAlchemy code from async code.

Some APIs are synchronous only (the ``Inspector``, Alembic's commands, legacy ``Query`` code,
implicit lazy loading). ``AsyncConnection.run_sync(fn)`` and ``AsyncSession.run_sync(fn)`` call
``fn`` with a sync ``Connection`` or ``Session`` in a greenlet, where blocking-style IO works.
Conduit runs every Alembic command this way (``db/migrations.py`` ``Migrations._run``) and
reads the schema version with it (``Migrations.state``).
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, select
from sqlalchemy.orm import Session, lazyload

from _support import Example, new_user, run
from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import User


def table_names(connection: Connection) -> list[str]:
    return sorted(inspect(connection).get_table_names())


def legacy_report(session: Session) -> list[str]:
    """Old synchronous code: a legacy Query and lazy loading, both fine inside run_sync."""
    users = session.query(User).options(lazyload(User.profile)).order_by(User.username).all()
    return [f"{user.username}: {user.profile.bio if user.profile else '-'}" for user in users]


async def main(ex: Example) -> None:
    async with ex.database.unit_of_work() as session:
        session.add_all(
            [new_user("ada", profile=Profile(bio="first programmer")), new_user("grace")]
        )

    with ex.step("the sync Inspector through AsyncConnection.run_sync", max_statements=3):
        async with ex.database.engine.connect() as conn:
            names = await conn.run_sync(table_names)
            ex.show("tables", names)
    ex.check("articles" in names and "alembic_version" in names, "the migrated tables")

    with ex.step(
        "sync ORM code (Query, lazy loads) through AsyncSession.run_sync", max_statements=3
    ):
        async with ex.database.reader() as session:
            lines = await session.run_sync(legacy_report)
            ex.show("report", lines)
    ex.check(lines == ["ada: first programmer", "grace: -"], "each user with their bio")

    with ex.step("the same report in async code, without run_sync", max_statements=2):
        async with ex.database.reader() as session:
            rows = await session.execute(
                select(User.username, Profile.bio)
                .outerjoin(Profile, Profile.user_id == User.id)
                .order_by(User.username)
            )
            ex.show("report", [f"{name}: {bio or '-'}" for name, bio in rows])


if __name__ == "__main__":
    run(main)
