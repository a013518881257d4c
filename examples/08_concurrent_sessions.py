"""08 - Concurrent work: one session per task, under ``asyncio.gather``.

A session is one connection and one transaction: it must never be shared by tasks running at
once. SQLAlchemy refuses some overlaps ("concurrent operations are not permitted") but cannot
catch them all, and the ones it misses interleave statements on one connection. Give each task
its own session; on PostgreSQL the four reads below then run in parallel on four pooled
connections. Conduit runs each request in its own unit of work (``http/deps.py``), and its
concurrency tests drive many at once against a real pool
(``tests/integration/api/test_*_concurrency.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Select, func, select

from _support import Example, run
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.comments.models import Comment
from conduit.domain.users.models import User


async def scalar_in_own_session(ex: Example, statement: Select[Any]) -> Any:
    async with ex.database.reader() as session:
        return await session.scalar(statement)


async def main(ex: Example) -> None:
    await ex.seed(users=10, articles=40)
    statements: dict[str, Select[Any]] = {
        "users": select(func.count()).select_from(User),
        "articles": select(func.count()).select_from(Article),
        "comments": select(func.count()).select_from(Comment),
        "favorites": select(func.count()).select_from(Favorite),
    }

    with ex.step("four counts at once, each task in its own session", max_statements=4):
        counts = await asyncio.gather(
            *(scalar_in_own_session(ex, statement) for statement in statements.values())
        )
        ex.show("counts", dict(zip(statements, counts, strict=True)))
    ex.check(counts[0] == 10 and counts[1] == 40, "the counts should match the seeded data")


if __name__ == "__main__":
    run(main)
