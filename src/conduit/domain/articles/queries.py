"""The articles read path: one statement per page or article, built once per shape.

Everything a response shows comes from the same statement as the rows themselves: the author's
profile through joins, and ``tagList``, ``favoritesCount``, ``favorited`` and ``following``
as correlated subqueries evaluated for the rows of the page only. An offset page is read as

    SELECT <columns, subqueries>, <kept total>
    FROM (SELECT id, created_at FROM articles WHERE deleted_at IS NULL AND <filters>
          ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset) AS page
    JOIN articles ... JOIN users ... LEFT JOIN profiles ...

The total is the count kept for the filter (:mod:`conduit.domain.articles.filters`), so the scan
stops after ``offset + limit`` rows of the live-order index whatever the size of the set; for
filters without a kept count the inner page carries ``count(*) OVER ()`` instead. Only an empty
page past the start needs a second statement, to count. A cursor page continues after a sort
key (:mod:`conduit.domain.articles.cursor`): one flat ``... WHERE <filters> AND (created_at,
id) < (:after_created_key, :after_id) ORDER BY ... LIMIT :limit`` (a backward range scan of the
live-order index at any depth, one row past the page) carrying the kept count, or followed by
a statement counting the set.

Every value is a bound parameter, so a statement depends only on its shape (which filters,
whether there is a viewer, offset or cursor, columns or JSON) and is built once: building a
statement and deriving its cache key cost more CPU than running it. A search is built per
request (its condition depends on the query text).

Two projections: columns for :class:`ArticleView` (every dialect, and the writes' responses),
or on PostgreSQL the article's JSON exactly as the API writes it (:mod:`conduit.db.documents`),
which the HTTP layer passes through without building or validating objects.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    exists,
    false,
    func,
    null,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db import documents as doc
from conduit.db.pagination import KeyValue, after, more_after_offset, position, split_lookahead
from conduit.domain.articles.cursor import list_order
from conduit.domain.articles.filters import (
    ArticleFilter,
    ListShape,
    Total,
    conditions,
    keeps_total,
    kept_total,
)
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.articles.search import Search, search
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.profiles.service import ProfileView
from conduit.domain.tags.service import tag_list_of
from conduit.domain.users.models import User
from conduit.domain.viewer import VIEWER, viewer_param

__all__ = ["ArticleDocuments", "ArticleFilter", "ArticlePage", "ArticleView", "PageQuery"]


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


@dataclass(frozen=True, slots=True)
class ArticleDocuments:
    """A page as JSON text (PostgreSQL): the array of list items, as the API writes it."""

    articles: str
    articles_count: int
    next_after: tuple[KeyValue, ...] | None = None


_LIMIT = "limit"
_OFFSET = "offset"
_SLUG = "slug"


def _favorited(viewer: bool) -> ColumnElement[bool]:
    if not viewer:
        return false()
    return exists().where(Favorite.article_id == Article.id, Favorite.user_id == viewer_param())


def _following(viewer: bool) -> ColumnElement[bool]:
    if not viewer:
        return false()
    return exists().where(
        Follow.follower_id == viewer_param(), Follow.followee_id == Article.author_id
    )


def _favorites_count() -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(Favorite)
        .where(Favorite.article_id == Article.id)
        .scalar_subquery()
    )


def _columns(viewer: bool, *, with_body: bool) -> tuple[Any, ...]:
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
        _favorited(viewer).label("favorited"),
        _favorites_count().label("favorites_count"),
        User.username,
        Profile.bio,
        Profile.image,
        _following(viewer).label("following"),
    )


def _document(viewer: bool, *, with_body: bool) -> tuple[Any, ...]:
    """The article as the API writes it (the response models' keys and order), as JSON text."""
    body = [("body", doc.value(Article.body))] if with_body else []
    author = doc.obj(
        [
            ("username", doc.value(User.username)),
            ("bio", doc.value(Profile.bio)),
            ("image", doc.value(Profile.image)),
            ("following", doc.value(_following(viewer))),
        ]
    )
    article = doc.obj(
        [
            ("slug", doc.value(Article.slug)),
            ("title", doc.value(Article.title)),
            ("description", doc.value(Article.description)),
            *body,
            ("tagList", doc.string_array(tag_list_of(Article.id))),
            ("createdAt", doc.timestamp(Article.created_at)),
            ("updatedAt", doc.timestamp(Article.updated_at)),
            ("favorited", doc.value(_favorited(viewer))),
            ("favoritesCount", doc.value(_favorites_count())),
            ("author", author),
        ]
    )
    return (article.label("document"),)


def _projection(viewer: bool, *, with_body: bool, as_documents: bool) -> tuple[Any, ...]:
    if as_documents:
        return _document(viewer, with_body=with_body)
    return _columns(viewer, with_body=with_body)


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


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# --- single articles ------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _article_statement(*, viewer: bool, as_documents: bool) -> Select[Any]:
    projection = _projection(viewer, with_body=True, as_documents=as_documents)
    return _with_author(select(*projection).select_from(Article)).where(
        Article.slug == bindparam(_SLUG, type_=String()), Article.deleted_at.is_(None)
    )


async def _article_row(
    session: AsyncSession, *, slug: str, viewer_id: uuid.UUID | None, as_documents: bool
) -> Any:
    statement = _article_statement(viewer=viewer_id is not None, as_documents=as_documents)
    connection = await session.connection()
    result = await connection.execute(statement, {_SLUG: slug, VIEWER: viewer_id})
    return result.one_or_none()


async def get_article(
    session: AsyncSession, *, slug: str, viewer_id: uuid.UUID | None
) -> ArticleView | None:
    """The live article with ``slug`` as ``viewer_id`` sees it, or None: 1 statement."""
    row = await _article_row(session, slug=slug, viewer_id=viewer_id, as_documents=False)
    return _view(row) if row is not None else None


async def get_article_document(
    session: AsyncSession, *, slug: str, viewer_id: uuid.UUID | None
) -> str | None:
    """:func:`get_article` as the API's JSON, built by PostgreSQL: 1 statement."""
    row = await _article_row(session, slug=slug, viewer_id=viewer_id, as_documents=True)
    return str(row[0]) if row is not None else None


# --- pages ----------------------------------------------------------------------------------


def page_statement(
    *,
    dialect: str,
    shape: ListShape,
    viewer: bool,
    cursor: bool,
    as_documents: bool,
    found: Search | None = None,
) -> Select[Any]:
    """The one statement that reads a page: its rows (the projection), their sort keys, and the
    total if the statement carries one (the kept count, or on offset pages the window's)."""
    clauses = [Article.deleted_at.is_(None), *conditions(shape)]
    if found is not None:
        clauses.append(found.match)
    total = kept_total(shape, searching=found is not None)
    order = list_order(dialect, rank=found.rank if found is not None else None)
    projection = _projection(viewer, with_body=False, as_documents=as_documents)
    limit = bindparam(_LIMIT, type_=Integer())
    if cursor:
        carried = () if total is None else (total.label("total"),)
        return (
            _with_author(select(*projection, *order.labelled(), *carried).select_from(Article))
            .where(*clauses, after(order.columns, order.names))
            .order_by(*(column.desc() for column in order.columns))
            .limit(limit)
        )
    keys = order.labelled()
    counted = (func.count().over().label("total"),) if total is None else ()
    page = (
        select(*keys, *counted)
        .where(*clauses)
        .order_by(*(key.desc() for key in keys))
        .limit(limit)
        .offset(bindparam(_OFFSET, type_=Integer()))
        .subquery("page")
    )
    page_keys = [page.c[name] for name in order.names]
    page_total = page.c.total if total is None else total.label("total")
    return _with_author(
        select(*projection, *page_keys, page_total)
        .select_from(page)
        .join(Article, Article.id == page.c.id)
    ).order_by(*(key.desc() for key in page_keys))


_cached_page_statement = functools.lru_cache(maxsize=128)(page_statement)


@dataclass(frozen=True, slots=True, kw_only=True)
class PageQuery:
    """One page of a list or of a feed, as a reader asked for it."""

    shape: ListShape
    params: dict[str, Any]
    text: str | None
    viewer_id: uuid.UUID | None
    limit: int
    offset: int = 0
    after: tuple[KeyValue, ...] | None = None

    @classmethod
    def listing(
        cls,
        where: ArticleFilter,
        *,
        viewer_id: uuid.UUID | None,
        limit: int,
        offset: int = 0,
        after: tuple[KeyValue, ...] | None = None,
    ) -> PageQuery:
        """Live articles matching ``where``, newest (or, searching on PostgreSQL, best) first."""
        return cls(
            shape=ListShape.of(where),
            params=where.params(),
            text=where.query,
            viewer_id=viewer_id,
            limit=limit,
            offset=offset,
            after=after,
        )

    @classmethod
    def feed(
        cls,
        *,
        viewer_id: uuid.UUID,
        limit: int,
        offset: int = 0,
        after: tuple[KeyValue, ...] | None = None,
    ) -> PageQuery:
        """Live articles by the authors ``viewer_id`` follows, newest first."""
        return cls(
            shape=ListShape(feed=True),
            params={},
            text=None,
            viewer_id=viewer_id,
            limit=limit,
            offset=offset,
            after=after,
        )


@dataclass(frozen=True, slots=True)
class _Rows:
    rows: list[Any]
    total: int
    next_after: tuple[KeyValue, ...] | None


async def _read_page(session: AsyncSession, query: PageQuery, *, as_documents: bool) -> _Rows:
    dialect = _dialect(session)
    found = search(dialect, query.text) if query.text is not None else None
    order = list_order(dialect, rank=found.rank if found is not None else None)
    cursor = query.after is not None
    # A search's condition holds its text: built for the request. Every other shape: cached.
    build = page_statement if found is not None else _cached_page_statement
    statement = build(
        dialect=dialect,
        shape=query.shape,
        viewer=query.viewer_id is not None,
        cursor=cursor,
        as_documents=as_documents,
        found=found,
    )
    values = {**query.params, VIEWER: query.viewer_id}
    if query.after is not None:
        order.check(query.after)
        # One row past the page tells whether another follows.
        values.update(position(order.names, query.after), **{_LIMIT: query.limit + 1})
    else:
        values.update({_LIMIT: query.limit, _OFFSET: query.offset})
    connection = await session.connection()
    rows: list[Any] = list((await connection.execute(statement, values)).all())
    carried = not cursor or keeps_total(query.shape, searching=found is not None)
    width = len(order.names)
    keys_end = -1 if carried else None
    keys_start = (-1 if carried else 0) - width
    if cursor:
        rows, more = split_lookahead(rows, limit=query.limit)
    if rows and carried:
        total = int(rows[0][-1])
    elif not cursor and query.offset == 0:
        total = 0
    else:
        # The keyset narrows the page, never the total: that is the whole filtered set. And
        # past the last page the total has no row to ride on: count separately.
        total = await _count(session, shape=query.shape, found=found, values=values)
    if not cursor:
        more = more_after_offset(offset=query.offset, shown=len(rows), total=total)
    next_after = tuple(rows[-1][keys_start:keys_end]) if more and rows else None
    return _Rows(rows=rows, total=total, next_after=next_after)


async def _count(
    session: AsyncSession, *, shape: ListShape, found: Search | None, values: dict[str, Any]
) -> int:
    kept: Total | None = kept_total(shape, searching=found is not None)
    if kept is not None:
        statement = select(kept)
    else:
        clauses = [Article.deleted_at.is_(None), *conditions(shape)]
        if found is not None:
            clauses.append(found.match)
        statement = select(func.count()).select_from(Article).where(*clauses)
    connection = await session.connection()
    return int((await connection.execute(statement, values)).scalar_one())


async def list_page(session: AsyncSession, *, query: PageQuery) -> ArticlePage:
    """The page ``query`` asks for. An offset page is 1 statement (2 for an empty page past
    the start); a cursor page is 1 where a count is kept for the filter and 2 otherwise."""
    page = await _read_page(session, query, as_documents=False)
    articles = [_view(row) for row in page.rows]
    return ArticlePage(articles=articles, articles_count=page.total, next_after=page.next_after)


async def list_page_documents(session: AsyncSession, *, query: PageQuery) -> ArticleDocuments:
    """:func:`list_page` as the API's JSON, built by PostgreSQL: the same statements."""
    page = await _read_page(session, query, as_documents=True)
    articles = doc.array_of([row[0] for row in page.rows])
    return ArticleDocuments(
        articles=articles, articles_count=page.total, next_after=page.next_after
    )
