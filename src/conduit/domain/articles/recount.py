"""The kept counts of live articles (:mod:`conduit.domain.articles.kept_counts`) against the rows.

:func:`recount` computes them afresh from the rows, for writes that bypass the services: a bulk
load (``conduit db seed`` calls it), or instances of an older version still writing during an
upgrade (``conduit db recount``). :func:`drift` compares them with the rows and changes nothing
(``conduit db recount --check``, and the concurrency tests' oracle). Both cover the copies of
each article's ``created_at`` on its tag links and favorites (the list order of those filters,
written with each row): recount repairs a missing or wrong copy, drift reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
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
    await _assign(session, User.__table__, _live_by_author(), keep_updated_at=True)
    await _assign(
        session,
        User.__table__,
        _live_favorites_by_user(),
        keep_updated_at=True,
        column="favorites_count",
    )
    await _assign(session, Tag.__table__, _live_by_tag(), keep_updated_at=False)
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
    return (
        select(Favorite.user_id.label("key"), func.count().label("n"))
        .join(Article, Article.id == Favorite.article_id)
        .where(_LIVE)
        .group_by(Favorite.user_id)
        .subquery()
    )


def _live_by_tag() -> Subquery:
    """``key``: a tag's id, ``n``: the live articles carrying it (unused tags are absent)."""
    return (
        select(ArticleTag.tag_id.label("key"), func.count().label("n"))
        .join(Article, Article.id == ArticleTag.article_id)
        .where(_LIVE)
        .group_by(ArticleTag.tag_id)
        .subquery()
    )


async def _assign(
    session: AsyncSession,
    table: Any,
    counted: Subquery,
    *,
    keep_updated_at: bool,
    column: str = "articles_count",
) -> None:
    """Set ``column`` of every row of ``table`` to its ``n`` in ``counted`` (0 if absent):
    2 statements, each one pass (``UPDATE ... FROM``)."""
    # The row did not change: its onupdate timestamp stays as it is.
    same = {"updated_at": table.c.updated_at} if keep_updated_at else {}
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
    table holding wrong copies of articles' created_at: 6 statements.

    Changes nothing. Each statement reads the kept counts and the rows from one snapshot, and a
    write moves both in one transaction, so a live service's writes never show up as drift.
    """
    counted = select(striped_total.total().label("kept"), _live_total().label("actual"))
    found = [
        Drift("counters", LIVE_ARTICLES, int(row.kept), int(row.actual))
        for row in (await session.execute(counted)).all()
        if row.kept != row.actual
    ]
    found += await _differing(
        session, User.__table__, name="users", key="username", counted=_live_by_author()
    )
    found += await _differing(
        session,
        User.__table__,
        name="users.favorites_count",
        key="username",
        counted=_live_favorites_by_user(),
        column="favorites_count",
    )
    found += await _differing(
        session, Tag.__table__, name="tags", key="name", counted=_live_by_tag()
    )
    for table in _COPIES:
        wrong = select(func.count()).select_from(table).where(*_copy_differs(table))
        copies = int((await session.execute(wrong)).scalar_one())
        if copies:
            found.append(Drift(table.name, COPIED, copies, 0))
    return found


async def _differing(
    session: AsyncSession,
    table: FromClause,
    *,
    name: str,
    key: str,
    counted: Subquery,
    column: str = "articles_count",
) -> list[Drift]:
    """The rows of ``table`` whose ``column`` is not their ``n`` in ``counted`` (0 if absent),
    named by their ``key`` column: 1 statement."""
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
