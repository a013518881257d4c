"""21 - Window functions: ``ROW_NUMBER``, ``RANK``, running counts, ``COUNT(*) OVER ()``.

A window function computes over related rows without collapsing them as GROUP BY does.
Conduit uses ``count(*) OVER ()`` to carry a list's total on every row of its page, in the same
statement, when no kept count serves the filter (``domain/articles/pages.py``,
``domain/profiles/service.py`` for profile search).
"""

from __future__ import annotations

from sqlalchemy import func, select

from _support import Example, run
from conduit.domain.articles.models import Article
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User

LIVE = Article.deleted_at.is_(None)


async def main(ex: Example) -> None:
    await ex.seed(users=8, articles=50, tags=10)
    async with ex.database.reader() as session:
        with ex.step("ROW_NUMBER per author: each author's newest article", max_statements=1):
            numbered = (
                select(
                    Article.author_id,
                    Article.title,
                    func.row_number()
                    .over(
                        partition_by=Article.author_id,
                        order_by=(Article.created_at.desc(), Article.id.desc()),
                    )
                    .label("n"),
                )
                .where(LIVE)
                .subquery()
            )
            newest = (
                await session.execute(
                    select(User.username, numbered.c.title)
                    .join(numbered, numbered.c.author_id == User.id)
                    .where(numbered.c.n == 1)
                    .order_by(User.username)
                )
            ).all()
            for username, title in newest[:3]:
                ex.show(username, title)
        authors = {username for username, _title in newest}
        ex.check(len(authors) == len(newest), "one row per author")

        with ex.step("RANK over an aggregate: tags by use, ties share a rank", max_statements=1):
            uses = func.count()
            ranked = await session.execute(
                select(Tag.name, uses.label("uses"), func.rank().over(order_by=uses.desc()))
                .join(ArticleTag, ArticleTag.tag_id == Tag.id)
                .group_by(Tag.id, Tag.name)
                .order_by(uses.desc(), Tag.name)
                .limit(5)
            )
            for name, n, rank in ranked:
                ex.show(f"#{rank}", f"{name} ({n})")

        with ex.step("a running count: the n-th article of its author", max_statements=1):
            running = func.count().over(
                partition_by=Article.author_id, order_by=(Article.created_at, Article.id)
            )
            rows = (
                await session.execute(
                    select(Article.slug, running.label("nth"))
                    .where(LIVE)
                    .order_by(Article.author_id, Article.created_at, Article.id)
                    .limit(4)
                )
            ).all()
            ex.show("first author's articles", [nth for _slug, nth in rows])

        with ex.step(
            "COUNT(*) OVER (): a page of 5 and the total, one statement", max_statements=1
        ):
            page = (
                await session.execute(
                    select(Article.slug, func.count().over().label("total"))
                    .where(LIVE)
                    .order_by(Article.created_at.desc(), Article.id.desc())
                    .limit(5)
                )
            ).all()
            ex.show("page", [slug for slug, _total in page])
            ex.show("total", page[0].total)


if __name__ == "__main__":
    run(main)
