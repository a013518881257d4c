"""19 - Subqueries: IN, EXISTS, correlated scalar subqueries, and derived tables.

Conduit's article reads are made of them (``domain/articles/views.py``): ``favorited`` and
``following`` are ``EXISTS`` subqueries, ``favoritesCount`` and ``tagList`` correlated scalar
subqueries, and a page is a derived table (``domain/articles/pages.py``: ``FROM (SELECT id ...
LIMIT :limit) AS page``) so that those run for the page's rows only.
"""

from __future__ import annotations

from sqlalchemy import exists, func, select

from _support import Example, run
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.profiles.models import Follow
from conduit.domain.users.models import User


async def main(ex: Example) -> None:
    await ex.seed(users=12, articles=40, favorites=60)
    async with ex.database.reader() as session:
        with ex.step("IN (subquery): users who favorited something", max_statements=1):
            fans = select(Favorite.user_id).distinct()
            count = await session.scalar(
                select(func.count()).select_from(User).where(User.id.in_(fans))
            )
            ex.show("users", count)

        with ex.step("NOT EXISTS: users nobody follows", max_statements=1):
            followed = exists().where(Follow.followee_id == User.id)
            lonely = list(await session.scalars(select(User.username).where(~followed)))
            ex.show("users", lonely or "none")

        with ex.step(
            "a correlated scalar subquery: favorites per article, top 3", max_statements=1
        ):
            favorites = (
                select(func.count())
                .select_from(Favorite)
                .where(Favorite.article_id == Article.id)
                .scalar_subquery()
                .label("favorites")
            )
            top = (
                await session.execute(
                    select(Article.slug, favorites)
                    .order_by(favorites.desc(), Article.slug)
                    .limit(3)
                )
            ).all()
            for slug, n in top:
                ex.show(slug, n)

        with ex.step("a derived table: the average of per-author counts", max_statements=1):
            per_author = (
                select(Article.author_id, func.count().label("n"))
                .group_by(Article.author_id)
                .subquery("per_author")
            )
            mean = await session.scalar(select(func.avg(per_author.c.n)))
            ex.show("articles per author who wrote any", round(float(mean or 0), 2))

        with ex.step("cross-check the correlated count with a join", max_statements=1):
            most = await session.scalar(
                select(func.count())
                .select_from(Favorite)
                .group_by(Favorite.article_id)
                .order_by(func.count().desc())
                .limit(1)
            )
        ex.check(top[0][1] == most, "both ways should find the same most-favorited count")


if __name__ == "__main__":
    run(main)
