"""The articles read path: one statement per page or article, columns only, no ORM entities.

Everything a response shows comes from the same statement as the rows themselves: the author's
profile through joins, and ``tagList``, ``favoritesCount``, ``favorited`` and ``following``
as correlated subqueries evaluated for the rows of the page only. An offset page is read as

    SELECT <columns, subqueries>
    FROM (SELECT id, created_at, count(*) OVER () AS total
          FROM articles WHERE deleted_at IS NULL AND <filters>
          ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset) AS page
    JOIN articles ... JOIN users ... LEFT JOIN profiles ...

so the total comes with the page, and the per-row subqueries never run for rows outside it.
Where a count is kept for the filter (:mod:`conduit.domain.articles.counts`: no filter, one tag,
one author, the feed), the total is that count instead, read by a scalar subquery, and the page
needs no window: the scan stops after ``offset + limit`` rows whatever the size of the set.
Only an empty page past the start needs a second statement, to count. A cursor page continues
after a sort key (:mod:`conduit.domain.articles.cursor`) with no window to feed, so it is one
flat ``... WHERE <filters> AND (created_at, id) < (:created_at, :id) ORDER BY ... LIMIT n + 1``
(a backward range scan of the live-order index at any depth) carrying the kept count, or
followed by a second statement counting the set. Filters are resolved inside the page query
(``author_id = (SELECT id FROM users WHERE username = :author)``, the search of
:mod:`conduit.domain.articles.search`), so the statement count per request stays the same
whatever the filter, page size or data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, ScalarSelect, Select, exists, false, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.pagination import KeyValue, more_after_offset, split_lookahead
from conduit.db.pagination import after as keyset_after
from conduit.domain.articles.counts import LIVE_ARTICLES
from conduit.domain.articles.cursor import ListOrder, list_order
from conduit.domain.articles.models import Article, Counter, Favorite
from conduit.domain.articles.search import search
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.profiles.service import ProfileView
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.tags.service import tag_list_of
from conduit.domain.users.models import User


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An article as one viewer sees it. ``body`` is None in list items, which omit it."""

    id: uuid.UUID
    author_id: uuid.UUID
    slug: str
    title: str
    description: str
    body: str | None
    tag_list: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    favorited: bool
    favorites_count: int
    author: ProfileView


@dataclass(frozen=True, slots=True)
class ArticlePage:
    """A page, the total of the filtered set, and the sort key after which the next page
    starts (None on the last page)."""

    articles: list[ArticleView]
    articles_count: int
    next_after: tuple[KeyValue, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleFilter:
    """The list filters: by tag name, by author username, by the username who favorited, and
    a full-text search (:mod:`conduit.domain.articles.search`)."""

    tag: str | None = None
    author: str | None = None
    favorited: str | None = None
    query: str | None = None


def _favorited(viewer_id: uuid.UUID | None) -> ColumnElement[bool]:
    if viewer_id is None:
        return false().label("favorited")
    return (
        exists()
        .where(Favorite.article_id == Article.id, Favorite.user_id == viewer_id)
        .label("favorited")
    )


def _following(viewer_id: uuid.UUID | None) -> ColumnElement[bool]:
    if viewer_id is None:
        return false().label("following")
    return (
        exists()
        .where(Follow.follower_id == viewer_id, Follow.followee_id == Article.author_id)
        .label("following")
    )


def _favorites_count() -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(Favorite)
        .where(Favorite.article_id == Article.id)
        .scalar_subquery()
        .label("favorites_count")
    )


def _columns(viewer_id: uuid.UUID | None, *, with_body: bool) -> tuple[Any, ...]:
    """The columns of :class:`ArticleView`, in its field order (the author's last)."""
    return (
        Article.id,
        Article.author_id,
        Article.slug,
        Article.title,
        Article.description,
        Article.body if with_body else null().label("body"),
        tag_list_of(Article.id).label("tag_list"),
        Article.created_at,
        Article.updated_at,
        _favorited(viewer_id),
        _favorites_count(),
        User.username,
        Profile.bio,
        Profile.image,
        _following(viewer_id),
    )


def _view(row: Sequence[Any]) -> ArticleView:
    return ArticleView(
        id=row[0],
        author_id=row[1],
        slug=row[2],
        title=row[3],
        description=row[4],
        body=row[5],
        tag_list=row[6],
        created_at=row[7],
        updated_at=row[8],
        favorited=bool(row[9]),
        favorites_count=row[10],
        author=ProfileView(username=row[11], bio=row[12], image=row[13], following=bool(row[14])),
    )


def _with_author(statement: Select[Any]) -> Select[Any]:
    return statement.join(User, User.id == Article.author_id).outerjoin(
        Profile, Profile.user_id == Article.author_id
    )


async def get_article(
    session: AsyncSession, *, slug: str, viewer_id: uuid.UUID | None
) -> ArticleView | None:
    """The live article with ``slug`` as ``viewer_id`` sees it, or None: 1 statement."""
    statement = _with_author(
        select(*_columns(viewer_id, with_body=True)).select_from(Article)
    ).where(Article.slug == slug, Article.deleted_at.is_(None))
    row = (await session.execute(statement)).one_or_none()
    return _view(row) if row is not None else None


def _filters(where: ArticleFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if where.author is not None:
        author_id = select(User.id).where(User.username == where.author).scalar_subquery()
        clauses.append(Article.author_id == author_id)
    if where.tag is not None:
        tagged = (
            select(ArticleTag.article_id)
            .join(Tag, Tag.id == ArticleTag.tag_id)
            .where(Tag.name == where.tag)
        )
        clauses.append(Article.id.in_(tagged))
    if where.favorited is not None:
        fan_id = select(User.id).where(User.username == where.favorited).scalar_subquery()
        liked = select(Favorite.article_id).where(Favorite.user_id == fan_id)
        clauses.append(Article.id.in_(liked))
    return clauses


def _followed_by(viewer_id: uuid.UUID) -> list[ColumnElement[bool]]:
    followees = select(Follow.followee_id).where(Follow.follower_id == viewer_id)
    return [Article.author_id.in_(followees)]


# A scalar subquery reading a kept count (conduit.domain.articles.counts).
Total: TypeAlias = ScalarSelect[int]


def _kept_total(where: ArticleFilter) -> Total | None:
    """The kept count of the articles ``where`` selects, if one is kept for it."""
    given = [f for f in (where.tag, where.author, where.favorited, where.query) if f is not None]
    if not given:
        return select(Counter.value).where(Counter.name == LIVE_ARTICLES).scalar_subquery()
    if len(given) > 1:
        return None
    # An unknown tag or author selects nothing: the subquery finds no row, the total is 0.
    if where.tag is not None:
        count = select(func.coalesce(func.max(Tag.articles_count), 0)).where(Tag.name == where.tag)
        return count.scalar_subquery()
    if where.author is not None:
        by = select(func.coalesce(func.max(User.articles_count), 0))
        return by.where(User.username == where.author).scalar_subquery()
    return None


def _feed_total(viewer_id: uuid.UUID) -> Total:
    return (
        select(func.coalesce(func.sum(User.articles_count), 0))
        .join(Follow, Follow.followee_id == User.id)
        .where(Follow.follower_id == viewer_id)
        .scalar_subquery()
    )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def list_articles(
    session: AsyncSession,
    *,
    where: ArticleFilter,
    viewer_id: uuid.UUID | None,
    limit: int,
    offset: int = 0,
    after: Sequence[KeyValue] | None = None,
) -> ArticlePage:
    """Live articles matching ``where``, newest (or, searching on PostgreSQL, best) first.

    An offset page is 1 statement (2 for an empty page past the start); a cursor page, after
    the position ``after``, is 2 (the page, the total).
    """
    dialect = _dialect(session)
    clauses = _filters(where)
    rank = None
    if where.query is not None:
        found = search(dialect, where.query)
        clauses.append(found.match)
        rank = found.rank
    return await _page(
        session,
        clauses=clauses,
        kept_total=_kept_total(where),
        order=list_order(dialect, rank=rank),
        viewer_id=viewer_id,
        limit=limit,
        offset=offset,
        after=after,
    )


async def feed(
    session: AsyncSession,
    *,
    viewer_id: uuid.UUID,
    limit: int,
    offset: int = 0,
    after: Sequence[KeyValue] | None = None,
) -> ArticlePage:
    """Live articles by the authors ``viewer_id`` follows, newest first: same cost as a list."""
    return await _page(
        session,
        clauses=_followed_by(viewer_id),
        kept_total=_feed_total(viewer_id),
        order=list_order(_dialect(session)),
        viewer_id=viewer_id,
        limit=limit,
        offset=offset,
        after=after,
    )


def page_statement(
    *,
    clauses: Sequence[ColumnElement[bool]],
    kept_total: Total | None = None,
    order: ListOrder,
    viewer_id: uuid.UUID | None,
    limit: int,
    offset: int = 0,
    after: Sequence[KeyValue] | None = None,
) -> Select[Any]:
    """The one statement that reads a page: its rows, their sort keys, and the total (the
    ``kept_total``, or on offset pages the window's count). Rows are :func:`_columns`, then the
    sort key, then the total if there is one."""
    live = Article.deleted_at.is_(None)
    carried = () if kept_total is None else (kept_total.label("total"),)
    if after is not None:
        # A cursor page needs no window, so no inner page: the keyset bounds the scan of the
        # live-order index (a backward range scan, one row past the page to tell whether
        # another follows), and the author joins and per-row subqueries run for those rows only.
        return (
            _with_author(
                select(
                    *_columns(viewer_id, with_body=False), *order.labelled(), *carried
                ).select_from(Article)
            )
            .where(live, *clauses, keyset_after(order.columns, after))
            .order_by(*(column.desc() for column in order.columns))
            .limit(limit + 1)
        )
    keys = order.labelled()
    counted = (func.count().over().label("total"),) if kept_total is None else ()
    page = (
        select(*keys, *counted)
        .where(live, *clauses)
        .order_by(*(key.desc() for key in keys))
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    page_keys = [page.c[name] for name in order.names]
    total = page.c.total if kept_total is None else kept_total.label("total")
    return _with_author(
        select(*_columns(viewer_id, with_body=False), *page_keys, total)
        .select_from(page)
        .join(Article, Article.id == page.c.id)
    ).order_by(*(key.desc() for key in page_keys))


async def _page(
    session: AsyncSession,
    *,
    clauses: Sequence[ColumnElement[bool]],
    kept_total: Total | None,
    order: ListOrder,
    viewer_id: uuid.UUID | None,
    limit: int,
    offset: int,
    after: Sequence[KeyValue] | None,
) -> ArticlePage:
    if after is not None:
        order.check(after)
    statement = page_statement(
        clauses=clauses,
        kept_total=kept_total,
        order=order,
        viewer_id=viewer_id,
        limit=limit,
        offset=offset,
        after=after,
    )
    rows: Sequence[Any] = (await session.execute(statement)).all()
    width = len(order.names)
    carried = after is None or kept_total is not None
    end = -1 if carried else None
    keys_from = (-1 if carried else 0) - width
    if after is not None:
        rows, more = split_lookahead(rows, limit=limit)
    if rows and carried:
        total = int(rows[0][-1])
    elif after is None and offset == 0:
        total = 0
    else:
        # The keyset narrows the page, never the total: that is the whole filtered set. And
        # past the last page the total has no row to ride on: count separately.
        total = await _count(session, clauses, kept_total)
    if after is None:
        more = more_after_offset(offset=offset, shown=len(rows), total=total)
    keys = [tuple(row[keys_from:end]) for row in rows]
    return ArticlePage(
        articles=[_view(row) for row in rows],
        articles_count=total,
        next_after=keys[-1] if more and keys else None,
    )


async def _count(
    session: AsyncSession, clauses: Sequence[ColumnElement[bool]], kept_total: Total | None
) -> int:
    if kept_total is not None:
        return int((await session.execute(select(kept_total))).scalar_one())
    live = Article.deleted_at.is_(None)
    statement = select(func.count()).select_from(Article).where(live, *clauses)
    total: int = (await session.execute(statement)).scalar_one()
    return total
