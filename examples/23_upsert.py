"""23 - Upserts: ``INSERT ... ON CONFLICT`` on SQLite and PostgreSQL.

Both dialects spell ``on_conflict_do_nothing()`` and ``on_conflict_do_update()`` alike; only the
``insert`` differs, so Conduit picks it per session (``dialect_insert``,
``domain/profiles/service.py``). An upsert is the concurrency-safe "create if missing": no read
first, so two writers cannot both insert. Conduit creates tags (``domain/tags/service.py``
``attach()``), follows (``domain/profiles/service.py`` ``follow()``) and favorites
(``domain/articles/service.py`` ``favorite()``) this way, and keeps a named count with
``on_conflict_do_update`` (``domain/articles/striped_total.py`` ``add()``, ``reset()``). With
``RETURNING``, a row comes back only when one was written: how a caller knows that it created
the row.
"""

from __future__ import annotations

from sqlalchemy import select

from _support import Example, run
from conduit.db.dialect import dialect_insert
from conduit.domain.articles.models import Counter
from conduit.domain.tags.models import Tag


async def main(ex: Example) -> None:
    async with ex.database.unit_of_work() as session:
        with ex.step("ON CONFLICT DO NOTHING RETURNING: new, then already there", max_statements=2):
            add_tag = (
                dialect_insert(session, Tag)
                .values(name="python")
                .on_conflict_do_nothing(index_elements=[Tag.name])
                .returning(Tag.id)
            )
            first = await session.scalar(add_tag)
            second = await session.scalar(add_tag)
            ex.show("first insert returned", first)
            ex.show("second insert returned", second)
        ex.check(first is not None and second is None, "only the first insert writes a row")

        with ex.step("many rows at once: only the new ones come back", max_statements=1):
            names = ["python", "sql", "async"]
            added = list(
                await session.scalars(
                    dialect_insert(session, Tag)
                    .values([{"name": name} for name in names])
                    .on_conflict_do_nothing(index_elements=[Tag.name])
                    .returning(Tag.name)
                )
            )
            ex.show("added", sorted(added))
        ex.check(sorted(added) == ["async", "sql"], "python existed already")

        with ex.step("ON CONFLICT DO UPDATE: a counter bumped three times", max_statements=3):
            one = dialect_insert(session, Counter).values(name="page_views", value=1)
            bump = one.on_conflict_do_update(
                index_elements=[Counter.name],
                set_={"value": Counter.value + one.excluded.value},
            ).returning(Counter.value)
            values = [await session.scalar(bump) for _ in range(3)]
            ex.show("value after each", values)
        ex.check(values == [1, 2, 3], "the first inserts, the next two update")

        with ex.step("the tags now", max_statements=1):
            ex.show("tags", list(await session.scalars(select(Tag.name).order_by(Tag.name))))


if __name__ == "__main__":
    run(main)
