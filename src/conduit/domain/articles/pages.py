"""Article lists and the feed: one statement per page, built once per shape.

An offset page is read as

    SELECT <projection>, <kept total>
    FROM (SELECT id, created_at FROM articles WHERE deleted_at IS NULL AND <filters>
          ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset) AS page
    JOIN articles ... JOIN users ... LEFT JOIN profiles ...

so the per-article subqueries of the projection (:mod:`conduit.domain.articles.views`) run for
the page's rows only. The total is the count kept for the filter
(:mod:`conduit.domain.articles.filters`), so the scan stops after ``offset + limit`` rows of
an index whatever the size of the set; for filters without a kept count the inner page carries
``count(*) OVER ()`` instead. Only an empty page past the start needs a second statement, to
count. A cursor page continues after a sort key (:mod:`conduit.domain.articles.cursor`): one
flat ``... WHERE <filters> AND (created_at, id) < (:after_created_key, :after_id_key) ORDER BY
... LIMIT :limit`` (a backward range scan of the live-order index at any depth, one row past
the page) carrying the kept count, or followed by a statement counting the set.

Every value is a bound parameter, so a statement depends only on its shape (which filters,
whether there is a viewer, offset or cursor, columns or which JSON document) and is built once.
A search is built per request (its condition depends on the query text).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Subquery,
    bindparam,
    func,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db import documents as doc
from conduit.db.documents import DOCUMENT, Document
from conduit.db.pagination import KeyValue, after, more_after_offset, position, split_lookahead
from conduit.db.rows import column
from conduit.domain.articles.cursor import ID_KEY, ListOrder, list_order
from conduit.domain.articles.filters import (
    LINK_KEY,
    ArticleFilter,
    ListShape,
    Total,
    keeps_total,
    kept_total,
    link,
    source,
)
from conduit.domain.articles.models import Article
from conduit.domain.articles.search import Search, search
from conduit.domain.articles.views import ArticleView, projection, reader, with_author
from conduit.domain.profiles.models import Follow
from conduit.domain.viewer import VIEWER, viewer_param

_LIMIT = "limit"
_OFFSET = "offset"


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


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def page_statement(
    *,
    dialect: str,
    shape: ListShape,
    viewer: bool,
    cursor: bool,
    document: Document | None,
    found: Search | None = None,
) -> Select[Any]:
    """The one statement that reads a page: its rows (the projection), their sort keys, and the
    total if the statement carries one (the kept count, or on offset pages the window's)."""
    read, clauses = source(shape)
    if found is not None:
        clauses.append(found.match)
    total = kept_total(shape, searching=found is not None)
    order = _order(dialect, shape, found)
    selected = projection(viewer, with_body=False, document=document)
    limit = bindparam(_LIMIT, type_=Integer())
    if dialect == "postgresql" and shape == _FEED and found is None and total is not None:
        return _around(_merged_feed(order, cursor=cursor), order, selected, total)
    if cursor:
        carried = () if total is None else (total.label("total"),)
        return (
            with_author(select(*selected, *order.labelled(), *carried).select_from(read))
            .where(*clauses, after(order.columns, order.names))
            .order_by(*(column.desc() for column in order.columns))
            .limit(limit)
        )
    keys = order.labelled()
    counted = (func.count().over().label("total"),) if total is None else ()
    page = (
        select(*keys, *counted)
        .select_from(read)
        .where(*clauses)
        .order_by(*(key.desc() for key in keys))
        .limit(limit)
        .offset(bindparam(_OFFSET, type_=Integer()))
        .subquery("page")
    )
    return _around(page, order, selected, total)


def _around(
    page: Subquery, order: ListOrder, selected: tuple[Any, ...], total: Total | None
) -> Select[Any]:
    """The projection of the page's rows (``page``: their sort keys, and the window's total
    where ``total`` is None), in list order."""
    page_keys = [page.c[name] for name in order.names]
    page_total = page.c.total if total is None else total.label("total")
    return with_author(
        select(*selected, *page_keys, page_total)
        .select_from(page)
        .join(Article, Article.id == page.c[ID_KEY])
    ).order_by(*(key.desc() for key in page_keys))


_FEED = ListShape(feed=True)


def _merged_feed(order: ListOrder, *, cursor: bool) -> Subquery:
    """The feed page's sort keys, merged from the followed authors' newest articles
    (PostgreSQL, ``LATERAL`` over the author index ``(author_id, created_at, id)``).

    The page is the newest ``depth`` rows (``offset + limit``; a cursor page: ``limit + 1``
    past the cursor). First each followed author's newest live article (past the cursor) is
    read, one index probe each (``followed``). The ``depth``-th newest of those is the floor:
    they are ``depth`` distinct articles none older than it, so no row of the page is older.
    Only the authors whose newest reaches the floor are read again, each from its newest down
    to the floor (at most ``depth`` rows), and merged: one row per followed author and about
    the page, where each author's newest ``depth`` read followees x page rows (20,000 for a
    reader of 1,000 authors). With fewer writing authors than ``depth`` there is no floor and
    each gives its newest ``depth``. Walking the live list order and keeping the followed
    authors' articles would read the whole table's recent rows until the page fills (16,079
    rows for a reader of 179 authors at 1M articles). SQLite and MySQL/MariaDB (MariaDB has
    no ``LATERAL``) walk the list order.
    """
    limit = bindparam(_LIMIT, type_=Integer())
    depth = limit if cursor else limit + bindparam(_OFFSET, type_=Integer())
    created = order.columns[0]
    live: list[ColumnElement[bool]] = [Article.deleted_at.is_(None)]
    if cursor:
        live.append(after(order.columns, order.names))
    newest = (
        select(created.label("created"))
        .where(Article.author_id == Follow.followee_id, *live)
        .order_by(*(column.desc() for column in order.columns))
        .limit(1)
        .lateral("newest")
    )
    followed = (
        select(Follow.followee_id.label("author_id"), newest.c.created)
        .select_from(Follow)
        .join(newest, true())
        .where(Follow.follower_id == viewer_param())
        .cte("followed")
    )
    # The depth-th newest followed author's newest article: NULL with fewer writing authors.
    floor = (
        select(followed.c.created)
        .order_by(followed.c.created.desc())
        .limit(1)
        .offset(depth - 1)
        .cte("floor")
    )
    floor_date = select(floor.c.created).scalar_subquery()

    def newest_of_each(*, floored: bool) -> Select[Any]:
        above = [created >= floor_date] if floored else []
        recent = (
            select(*order.labelled())
            .where(Article.author_id == followed.c.author_id, *live, *above)
            .order_by(*(column.desc() for column in order.columns))
            .limit(depth)
            .lateral("recent")
        )
        # Either branch runs, never both: without a floor the condition on the floor alone
        # is decided once, before any author is read.
        reaches = followed.c.created >= floor_date if floored else floor_date.is_(None)
        return (
            select(*(recent.c[name] for name in order.names))
            .select_from(followed)
            .join(recent, true())
            .where(reaches)
        )

    # Two branches, not a floor of -infinity: planned with an unknown lower bound, each
    # author's read is estimated at a third of their articles and may be planned as a bitmap
    # scan that reads all of them; without the bound it is the newest ``depth``, read in order.
    both = union_all(newest_of_each(floored=True), newest_of_each(floored=False)).subquery("merged")
    keys = [both.c[name] for name in order.names]
    merged = select(*keys).order_by(*(key.desc() for key in keys)).limit(limit)
    return (merged if cursor else merged.offset(bindparam(_OFFSET, type_=Integer()))).subquery(
        "page"
    )


_cached_page_statement = functools.lru_cache(maxsize=128)(page_statement)


def _order(dialect: str, shape: ListShape, found: Search | None) -> ListOrder:
    """The list order, read from the link table the list reads, if it reads one."""
    read = link(shape)
    return list_order(
        dialect,
        rank=found.rank if found is not None else None,
        keys=None if read is None else (read.created, read.article_id),
    )


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
    # The labels of the rows' columns.
    keys: list[str]
    total: int
    next_after: tuple[KeyValue, ...] | None


async def _read_page(
    session: AsyncSession, query: PageQuery, *, document: Document | None
) -> _Rows:
    dialect = _dialect(session)
    found = search(dialect, query.text) if query.text is not None else None
    order = _order(dialect, query.shape, found)
    cursor = query.after is not None
    # A search's condition holds its text: built for the request. Every other shape: cached.
    build = page_statement if found is not None else _cached_page_statement
    statement = build(
        dialect=dialect,
        shape=query.shape,
        viewer=query.viewer_id is not None,
        cursor=cursor,
        document=document,
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
    linked = link(query.shape)
    if linked is not None:
        key = (await connection.execute(linked.resolve, values)).scalar_one_or_none()
        if key is None:  # an unknown tag or reader: nothing matches
            return _Rows(rows=[], keys=[], total=0, next_after=None)
        values[LINK_KEY] = key
    result = await connection.execute(statement, values)
    keys = list(result.keys())
    rows: list[Any] = list(result.all())
    carried = not cursor or keeps_total(query.shape, searching=found is not None)
    if cursor:
        rows, more = split_lookahead(rows, limit=query.limit)
    if rows and carried:
        total = int(rows[0].total)
    elif not cursor and query.offset == 0:
        total = 0
    else:
        # The keyset narrows the page, never the total: that is the whole filtered set. And
        # past the last page the total has no row to ride on: count separately.
        total = await _count(session, shape=query.shape, found=found, values=values)
    if not cursor:
        more = more_after_offset(offset=query.offset, shown=len(rows), total=total)
    next_after = None
    if more and rows:
        last = rows[-1]._mapping
        next_after = tuple(last[name] for name in order.names)
    return _Rows(rows=rows, keys=keys, total=total, next_after=next_after)


async def _count(
    session: AsyncSession, *, shape: ListShape, found: Search | None, values: dict[str, Any]
) -> int:
    kept: Total | None = kept_total(shape, searching=found is not None)
    if kept is not None:
        statement = select(kept)
    else:
        read, clauses = source(shape)
        if found is not None:
            clauses.append(found.match)
        statement = select(func.count()).select_from(read).where(*clauses)
    connection = await session.connection()
    return int((await connection.execute(statement, values)).scalar_one())


async def list_page(session: AsyncSession, *, query: PageQuery) -> ArticlePage:
    """The page ``query`` asks for. An offset page is 1 statement (2 for an empty page past
    the start); a cursor page is 1 where a count is kept for the filter and 2 otherwise. A tag
    or favorited filter looks its key up first: 1 more (and only that one for an unknown key).
    """
    page = await _read_page(session, query, document=None)
    # No rows, no labels (an unknown tag or reader: no statement read them).
    articles = list(map(reader(page.keys), page.rows)) if page.rows else []
    return ArticlePage(articles=articles, articles_count=page.total, next_after=page.next_after)


async def list_page_documents(
    session: AsyncSession, *, query: PageQuery, document: Document
) -> ArticleDocuments:
    """:func:`list_page` with each article as JSON that ``document`` writes from its columns,
    built by PostgreSQL: the same statements."""
    page = await _read_page(session, query, document=document)
    written = list(map(column(page.keys, DOCUMENT), page.rows)) if page.rows else []
    articles = doc.array_of(written)
    return ArticleDocuments(
        articles=articles, articles_count=page.total, next_after=page.next_after
    )
