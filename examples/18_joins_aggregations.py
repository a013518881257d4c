"""18 - Joins and aggregations: inner and outer joins, GROUP BY, HAVING, aggregates.

On Conduit's seeded data. Conduit's admin statistics are built this way
(``domain/admin/stats.py``: an outer join and GROUP BY for the top authors, zero-article
authors included); its lists never count at read time, though: the counts are kept by the
writes (``users.articles_count``, ``tags.articles_count``, ``domain/articles/kept_counts.py``), and
the outer join below checks them against the rows.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select

from _support import Example, run
from conduit.domain.articles.models import Article
from conduit.domain.comments.models import Comment
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User

LIVE = Article.deleted_at.is_(None)


async def main(ex: Example) -> None:
    await ex.seed(users=10, articles=60, tags=12)
    async with ex.database.reader() as session:
        with ex.step("inner join: the newest articles with their authors", max_statements=1):
            rows = await session.execute(
                select(Article.title, User.username)
                .join(User, User.id == Article.author_id)
                .where(LIVE)
                .order_by(Article.created_at.desc())
                .limit(3)
            )
            for title, username in rows:
                ex.show(username, title)

        with ex.step(
            "outer join + GROUP BY: every user's live articles, zeros too", max_statements=2
        ):
            written = func.count(Article.id).label("written")
            rows = await session.execute(
                select(User.username, written)
                .outerjoin(Article, and_(Article.author_id == User.id, LIVE))
                .group_by(User.id, User.username)
                .order_by(written.desc(), User.username)
            )
            counted = dict(rows.tuples().all())
            ex.show("by count", list(counted.items())[:4])
            rows = await session.execute(select(User.username, User.articles_count))
            kept = dict(rows.tuples().all())
        ex.check(counted == kept, "the counts kept by the writes should match the rows")

        with ex.step("aggregates in one statement: count, min, max, avg", max_statements=1):
            per_article = (
                select(func.count().label("n"))
                .select_from(Comment)
                .group_by(Comment.article_id)
                .subquery()
            )
            total, fewest, most, mean = (
                await session.execute(
                    select(
                        func.sum(per_article.c.n),
                        func.min(per_article.c.n),
                        func.max(per_article.c.n),
                        func.avg(per_article.c.n),
                    )
                )
            ).one()
            ex.show("comments", f"{total} in all; per commented article {fewest}..{most}")
            ex.show("mean per commented article", round(float(mean), 2))

        with ex.step("GROUP BY + HAVING: tags on at least 15 live articles", max_statements=1):
            uses = func.count().label("uses")
            popular = (
                await session.execute(
                    select(Tag.name, uses)
                    .join(ArticleTag, ArticleTag.tag_id == Tag.id)
                    .join(Article, Article.id == ArticleTag.article_id)
                    .where(LIVE)
                    .group_by(Tag.id, Tag.name)
                    .having(func.count() >= 15)
                    .order_by(uses.desc(), Tag.name)
                )
            ).all()
            ex.show("popular tags", [tuple(row) for row in popular])
        ex.check(all(n >= 15 for _name, n in popular), "HAVING keeps only the popular tags")


if __name__ == "__main__":
    run(main)
