"""Platform statistics for admins: three statements, whatever the size of the data.

1. the totals, the latest signup and the number of authors with a favorited article, as one
   row of aggregates and scalar subqueries (so the totals are consistent with one another);
2. the top authors: ``users LEFT OUTER JOIN articles ... GROUP BY``, so while fewer than ten
   people have written anything, accounts with no article fill the list with a count of 0;
3. the top tags by the live articles that carry them.

Everything counted is what the API shows: live articles, live comments on live articles, and
favorites of live articles. Ties are broken by name, so the lists are stable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.articles.models import Article
from conduit.domain.comments.models import Comment
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User

TOP = 10


@dataclass(frozen=True, slots=True)
class Totals:
    users: int
    active_users: int
    articles: int
    comments: int
    favorites: int


@dataclass(frozen=True, slots=True)
class AuthorCount:
    username: str
    articles_count: int


@dataclass(frozen=True, slots=True)
class TagCount:
    tag: str
    articles_count: int


@dataclass(frozen=True, slots=True)
class PlatformStats:
    totals: Totals
    latest_signup_at: dt.datetime | None
    top_authors: list[AuthorCount]
    top_tags: list[TagCount]
    authors_with_favorited_articles: int


def _live_article() -> ColumnElement[bool]:
    return Article.deleted_at.is_(None)


async def platform_stats(session: AsyncSession) -> PlatformStats:
    """The platform's numbers as an admin sees them: 3 statements."""
    live_comments = (
        select(func.count())
        .select_from(Comment)
        .join(Article, Article.id == Comment.article_id)
        .where(Comment.deleted_at.is_(None), _live_article())
        .scalar_subquery()
    )
    # Each article keeps its favorites count (kept_counts): summed, not counted.
    live_favorites = (
        select(func.coalesce(func.sum(Article.favorites_count), 0))
        .where(_live_article())
        .scalar_subquery()
    )
    favorited_authors = (
        select(func.count(distinct(Article.author_id)))
        .where(_live_article(), Article.favorites_count > 0)
        .scalar_subquery()
    )
    totals = (
        await session.execute(
            select(
                func.count().label("users"),
                # Not count() FILTER (WHERE ...): MySQL has no FILTER clause.
                func.count(case((User.is_active.is_(True), 1))).label("active_users"),
                func.max(User.created_at).label("latest_signup_at"),
                select(func.count())
                .select_from(Article)
                .where(_live_article())
                .scalar_subquery()
                .label("articles"),
                live_comments.label("comments"),
                live_favorites.label("favorites"),
                favorited_authors.label("authors_with_favorited_articles"),
            ).select_from(User)
        )
    ).one()

    articles_count = func.count(Article.id).label("articles_count")
    authors = await session.execute(
        select(User.username, articles_count)
        .outerjoin(Article, (Article.author_id == User.id) & _live_article())
        .group_by(User.id, User.username)
        .order_by(articles_count.desc(), User.username)
        .limit(TOP)
    )

    uses = func.count().label("articles_count")
    tags = await session.execute(
        select(Tag.name, uses)
        .join(ArticleTag, ArticleTag.tag_id == Tag.id)
        .join(Article, (Article.id == ArticleTag.article_id) & _live_article())
        .group_by(Tag.id, Tag.name)
        .order_by(uses.desc(), Tag.name)
        .limit(TOP)
    )
    return PlatformStats(
        totals=Totals(
            users=totals.users,
            active_users=totals.active_users,
            articles=totals.articles,
            comments=totals.comments,
            favorites=totals.favorites,
        ),
        latest_signup_at=totals.latest_signup_at,
        top_authors=[AuthorCount(row.username, row.articles_count) for row in authors],
        top_tags=[TagCount(row.name, row.articles_count) for row in tags],
        authors_with_favorited_articles=totals.authors_with_favorited_articles,
    )
