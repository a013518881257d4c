"""20 - Common table expressions: ``WITH`` and ``WITH RECURSIVE``.

A CTE names a subquery so the statement reads top-down; a recursive one walks a graph in one
statement. Below, the follow graph (``follows``): everyone a user reaches within three hops,
with the shortest distance. Both dialects run the same SQL. Conduit's recount
(``domain/articles/recount.py``) aggregates each table once and joins the result back, the
set-based shape a CTE spells.
"""

from __future__ import annotations

from sqlalchemy import func, literal, select

from _support import Example, run
from conduit.domain.articles.models import Article
from conduit.domain.profiles.models import Follow
from conduit.domain.users.models import User

HOPS = 3


async def main(ex: Example) -> None:
    await ex.seed(users=12, articles=30, follows=24)
    async with ex.database.reader() as session:
        with ex.step("WITH author_stats AS (...): per-author figures, joined", max_statements=1):
            stats = (
                select(
                    Article.author_id,
                    func.count().label("articles"),
                    func.max(Article.created_at).label("latest"),
                )
                .where(Article.deleted_at.is_(None))
                .group_by(Article.author_id)
                .cte("author_stats")
            )
            rows = await session.execute(
                select(User.username, stats.c.articles, stats.c.latest)
                .join(stats, stats.c.author_id == User.id)
                .order_by(stats.c.articles.desc(), User.username)
                .limit(3)
            )
            for username, articles, latest in rows:
                ex.show(username, f"{articles} articles, latest {latest:%Y-%m-%d}")

        with ex.step(
            f"WITH RECURSIVE: who the keenest follower reaches in {HOPS} hops", max_statements=2
        ):
            start = await session.scalar(
                select(Follow.follower_id)
                .group_by(Follow.follower_id)
                .order_by(func.count().desc(), Follow.follower_id)
                .limit(1)
            )
            reach = (
                select(Follow.followee_id.label("user_id"), literal(1).label("hops"))
                .where(Follow.follower_id == start)
                .cte("reach", recursive=True)
            )
            reach = reach.union_all(
                select(Follow.followee_id, reach.c.hops + 1)
                .join(reach, Follow.follower_id == reach.c.user_id)
                .where(reach.c.hops < HOPS)
            )
            nearest = func.min(reach.c.hops).label("nearest")
            reached = (
                await session.execute(
                    select(User.username, nearest)
                    .join(reach, reach.c.user_id == User.id)
                    .where(User.id != start)
                    .group_by(User.username)
                    .order_by(nearest, User.username)
                )
            ).all()
            by_distance: dict[int, list[str]] = {}
            for username, hops in reached:
                by_distance.setdefault(hops, []).append(username)
            for hops, names in sorted(by_distance.items()):
                ex.show(f"{hops} hop{'s' if hops > 1 else ''}", names)
        ex.check(
            bool(reached) and all(1 <= hops <= HOPS for _u, hops in reached),
            "the follower reaches someone, within the hops asked for",
        )


if __name__ == "__main__":
    run(main)
