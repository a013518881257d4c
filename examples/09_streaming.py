"""09 - Streaming results: ``session.stream()`` and ``stream_scalars()`` with ``yield_per``.

``execute()`` buffers the whole result before returning; ``stream()`` hands rows over as they
arrive, ``yield_per`` batches at a time, so memory holds one batch however large the result.
On PostgreSQL it is a server-side cursor: one statement, fetched in batches, inside a
transaction (a cursor cannot outlive one, so not on the autocommit ``reader()``). Conduit's admin
export streams every live article this way (``domain/admin/export.py``), as NDJSON.
"""

from __future__ import annotations

from sqlalchemy import func, select

from _support import Example, run
from conduit.domain.articles.models import Article
from conduit.domain.users.models import User

BATCH = 25


async def main(ex: Example) -> None:
    await ex.seed(users=10, articles=120)

    async with ex.database.sessions() as session:
        with ex.step(f"stream() rows, {BATCH} at a time, by partitions", max_statements=1):
            result = await session.stream(
                select(Article.slug, User.username)
                .join(User, User.id == Article.author_id)
                .order_by(Article.created_at, Article.id)
                .execution_options(yield_per=BATCH)
            )
            sizes = [len(batch) async for batch in result.partitions()]
            ex.show("batch sizes", sizes)
        ex.check(sum(sizes) == 120 and max(sizes) <= BATCH, "every row, in batches of 25")

        with ex.step("stream_scalars(): ORM entities one by one", max_statements=1):
            longest = ""
            entities = await session.stream_scalars(
                select(Article).order_by(Article.id).execution_options(yield_per=BATCH)
            )
            async for article in entities:
                longest = max(longest, article.title, key=len)
            ex.show("longest title", longest)

        with ex.step("the same total with an aggregate, for comparison", max_statements=1):
            ex.show("articles", await session.scalar(select(func.count()).select_from(Article)))


if __name__ == "__main__":
    run(main)
