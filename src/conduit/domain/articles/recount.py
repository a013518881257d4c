"""The kept counts (:mod:`conduit.domain.articles.kept_counts`) against the rows.

:func:`recount` computes them afresh from the rows, for writes that bypass the services: a bulk
load (``conduit db seed`` calls it), or instances of an older version still writing during an
upgrade (``conduit db recount``). :func:`drift` compares them with the rows and changes nothing
(``conduit db recount --check``, and the concurrency tests' oracle). Both cover the copies of
each article's ``created_at`` on its tag links and favorites (the list order of those filters,
written with each row): recount repairs a missing or wrong copy, drift reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Subquery,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.articles import striped_total
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.articles.striped_total import LIVE_ARTICLES
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User

_LIVE = Article.deleted_at.is_(None)


async def recount(session: AsyncSession) -> int:
    """Recompute every count from the rows, in the caller's transaction; returns the total.

    Set-based (each table's counts aggregated once and joined back), so the cost is one pass
    over the rows whatever the planner knows: after a bulk load the tables have no statistics
    yet, and a correlated count per row could be planned as a scan of the table per row.
    """
    # The total first, as writers take it: writers wait until this commits.
    await striped_total.reset(session, name=LIVE_ARTICLES, value=_live_total())
    for kept in _KEPT:
        await _assign(session, kept)
    for table in _COPIES:
        await session.execute(
            update(table).where(*_copy_differs(table)).values(article_created_at=Article.created_at)
        )
    return int((await session.execute(select(striped_total.total()))).scalar_one())


def _live_total() -> ScalarSelect[int]:
    return select(func.count()).select_from(Article).where(_LIVE).scalar_subquery()


def _live_by_author() -> Subquery:
    """``key``: an author's id, ``n``: their live articles (authors with none are absent)."""
    return (
        select(Article.author_id.label("key"), func.count().label("n"))
        .where(_LIVE)
        .group_by(Article.author_id)
        .subquery()
    )


def _live_favorites_by_user() -> Subquery:
    """``key``: a user's id, ``n``: the live articles they favorited (users with none are
    absent)."""
    return _live_per(Favorite.user_id, article_id=Favorite.article_id)


def _favorites_by_article() -> Subquery:
    """``key``: an article's id, ``n``: its favorites, live or deleted, by anyone (articles
    with none are absent)."""
    return (
        select(Favorite.article_id.label("key"), func.count().label("n"))
        .group_by(Favorite.article_id)
        .subquery()
    )


def _live_by_tag() -> Subquery:
    """``key``: a tag's id, ``n``: the live articles carrying it (unused tags are absent)."""
    return _live_per(ArticleTag.tag_id, article_id=ArticleTag.article_id)


def _live_per(key: Any, *, article_id: Any) -> Subquery:
    """``key``: one end of a link to articles, ``n``: the live articles it links to."""
    return (
        select(key.label("key"), func.count().label("n"))
        .join(Article, Article.id == article_id)
        .where(_LIVE)
        .group_by(key)
        .subquery()
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Kept:
    """A count kept on each row of ``table``, in ``column``: ``counted`` counts it afresh, and
    drift names a row ``name`` and its ``key`` column."""

    table: Any
    column: str
    counted: Callable[[], Subquery]
    name: str
    key: str


_KEPT = (
    _Kept(
        table=User.__table__,
        column="articles_count",
        counted=_live_by_author,
        name="users",
        key="username",
    ),
    _Kept(
        table=User.__table__,
        column="favorites_count",
        counted=_live_favorites_by_user,
        name="users.favorites_count",
        key="username",
    ),
    _Kept(
        table=Tag.__table__,
        column="articles_count",
        counted=_live_by_tag,
        name="tags",
        key="name",
    ),
    _Kept(
        table=Article.__table__,
        column="favorites_count",
        counted=_favorites_by_article,
        name="articles.favorites_count",
        key="slug",
    ),
)


async def _assign(session: AsyncSession, kept_count: _Kept) -> None:
    """Set the count of every row to its ``n`` counted afresh (0 if absent): 2 statements,
    each one pass (``UPDATE ... FROM``)."""
    table, column, counted = kept_count.table, kept_count.column, kept_count.counted()
    # The row did not change: its onupdate timestamp stays as it is.
    same = {"updated_at": table.c.updated_at} if "updated_at" in table.c else {}
    kept = table.c[column]
    await session.execute(
        update(table)
        .where(kept != 0, table.c.id.not_in(select(counted.c.key)))
        .values({column: 0, **same})
    )
    await session.execute(
        update(table)
        .where(table.c.id == counted.c.key, kept != counted.c.n)
        .values({column: counted.c.n, **same})
    )


# Tables that carry a copy of their article's created_at (the list order of the tag and
# favorited filters), written with the row; recount repairs the rows written without it.
_COPIES: tuple[Any, ...] = (ArticleTag.__table__, Favorite.__table__)
COPIED = "article_created_at"


def _copy_differs(table: Any) -> tuple[ColumnElement[bool], ...]:
    """The rows of ``table`` whose copy of the article's created_at is missing or wrong, as
    conditions joining ``table`` to ``articles``."""
    return (
        table.c.article_id == Article.id,
        table.c.article_created_at.is_distinct_from(Article.created_at),
    )


@dataclass(frozen=True, slots=True)
class Drift:
    """A kept count that differs from the rows: ``table``'s row ``key`` keeps ``kept``. For
    a copied column (``key`` :data:`COPIED`), ``kept`` is how many rows hold a wrong copy."""

    table: str
    key: str
    kept: int
    actual: int


async def drift(session: AsyncSession) -> list[Drift]:
    """Every kept count that differs from a count of the rows, by table and key, and every
    table holding wrong copies of articles' created_at: 7 statements.

    Changes nothing. Each statement reads the kept counts and the rows from one snapshot, and a
    write moves both in one transaction, so a live service's writes never show up as drift.
    """
    counted = select(striped_total.total().label("kept"), _live_total().label("actual"))
    found = [
        Drift("counters", LIVE_ARTICLES, int(row.kept), int(row.actual))
        for row in (await session.execute(counted)).all()
        if row.kept != row.actual
    ]
    for kept in _KEPT:
        found += await _differing(session, kept)
    for table in _COPIES:
        wrong = select(func.count()).select_from(table).where(*_copy_differs(table))
        copies = int((await session.execute(wrong)).scalar_one())
        if copies:
            found.append(Drift(table.name, COPIED, copies, 0))
    return found


async def _differing(session: AsyncSession, kept_count: _Kept) -> list[Drift]:
    """The rows whose kept count is not their ``n`` counted afresh (0 if absent), named by
    their ``key`` column: 1 statement."""
    table, column, counted = kept_count.table, kept_count.column, kept_count.counted()
    key, name = kept_count.key, kept_count.name
    kept = table.c[column]
    actual = func.coalesce(counted.c.n, literal(0))
    rows = await session.execute(
        select(table.c[key].label("key"), kept.label("kept"), actual.label("actual"))
        .select_from(table)
        .outerjoin(counted, counted.c.key == table.c.id)
        .where(kept != actual)
        .order_by(table.c[key])
    )
    return [Drift(name, str(row.key), int(row.kept), int(row.actual)) for row in rows]
