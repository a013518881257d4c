"""Exact counts of live articles, kept by the writes that change them.

Every list shows how many articles match (``articlesCount``), and counting the matching rows on
each request costs the database a pass over all of them: tens of milliseconds on the unfiltered
list at 100k articles, growing with the table. So the counts the lists need are kept instead:

- ``counters`` row ``live_articles``: every live article;
- ``users.articles_count``: the live articles by each author (the author filter, and the feed
  as the sum over the authors a reader follows);
- ``tags.articles_count``: the live articles carrying each tag (the tag filter, the tag list).

Each write that makes an article live (publish, restore) or not (delete), or changes its tags,
adjusts them with relative ``UPDATE``\\s (``n = n + 1``) in its own unit of work: committed
together with the write or not at all, so the counts are exact whenever no write is in flight.
The total is updated first: its row lock orders every count-changing transaction, so two of
them never take the author's and the tags' row locks in opposite orders (no deadlock), and the
adjustments run last, so that lock is held only until the commit right after.

:func:`recount` computes them afresh from the rows, for writes that bypass the services: a bulk
load (``conduit db seed`` calls it), or instances of an older version still writing during an
upgrade (``conduit db recount``). :func:`drift` compares them with the rows and changes nothing
(``conduit db recount --check``, and the concurrency tests' oracle).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    ScalarSelect,
    Select,
    Subquery,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from conduit.domain.articles.models import Article, Counter
from conduit.domain.profiles.service import dialect_insert
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User

LIVE_ARTICLES = "live_articles"
_LIVE = Article.deleted_at.is_(None)


async def went_live(
    session: AsyncSession, *, article_id: uuid.UUID, author_id: uuid.UUID, tagged: bool = True
) -> None:
    """The article became live (published or restored), its tags linked: 3 statements, 2 if
    the caller knows it has no tags (``tagged=False``)."""
    await _shift(session, article_id=article_id, author_id=author_id, by=1, tagged=tagged)


async def withdrawn(session: AsyncSession, *, article_id: uuid.UUID, author_id: uuid.UUID) -> None:
    """The live article was deleted; its tag links stay: 3 statements."""
    await _shift(session, article_id=article_id, author_id=author_id, by=-1)


async def retagged(session: AsyncSession, *, removed: Sequence[int], added: Sequence[int]) -> None:
    """A live article's links to the tags ``removed`` were deleted and to ``added`` inserted
    (ids, as the statements that did it returned them): 1 statement (none if both are empty)."""
    if not removed and not added:
        return
    delta = case((Tag.id.in_(added), 1), else_=0) - case((Tag.id.in_(removed), 1), else_=0)
    await _move_tags(session, ids=[*removed, *added], by=delta)


async def _shift(
    session: AsyncSession,
    *,
    article_id: uuid.UUID,
    author_id: uuid.UUID,
    by: int,
    tagged: bool = True,
) -> None:
    await session.execute(
        update(Counter)
        .where(Counter.name == LIVE_ARTICLES)
        .values(value=Counter.value + by)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(User)
        .where(User.id == author_id)
        # Set to itself so the column's onupdate leaves it alone: the account did not change.
        .values(articles_count=User.articles_count + by, updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )
    if not tagged:
        return
    tag_ids = select(ArticleTag.tag_id).where(ArticleTag.article_id == article_id)
    await _move_tags(session, ids=tag_ids, by=by)


async def _move_tags(
    session: AsyncSession, *, ids: Sequence[int] | Select[int], by: int | ColumnElement[int]
) -> None:
    """Add ``by`` to the count of each tag in ``ids``: 1 statement.

    The rows are locked in id order first (``SELECT ... ORDER BY id FOR NO KEY UPDATE`` inside
    the UPDATE; not rendered on SQLite, which has one write lock): retags take no total's lock,
    so two writers sharing tags could otherwise lock them in opposite orders and deadlock.
    """
    # An alias, not Tag: the same table inside UPDATE tags would be correlated away.
    target = aliased(Tag)
    locked = (
        select(target.id)
        .where(target.id.in_(ids))
        .order_by(target.id)
        .with_for_update(key_share=True)
    )
    await session.execute(
        update(Tag)
        .where(Tag.id.in_(locked))
        .values(articles_count=Tag.articles_count + by)
        .execution_options(synchronize_session=False)
    )


async def recount(session: AsyncSession) -> int:
    """Recompute every count from the rows, in the caller's transaction; returns the total.

    Set-based (each table's counts aggregated once and joined back), so the cost is one pass
    over the rows whatever the planner knows: after a bulk load the tables have no statistics
    yet, and a correlated count per row could be planned as a scan of the table per row.
    """
    # The total's row first, as every writer takes it: writers wait until this commits.
    upsert = dialect_insert(session, Counter).values(name=LIVE_ARTICLES, value=_live_total())
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": upsert.excluded.value}
        )
    )
    await _assign(session, User.__table__, _live_by_author(), keep_updated_at=True)
    await _assign(session, Tag.__table__, _live_by_tag(), keep_updated_at=False)
    counted = await session.execute(select(Counter.value).where(Counter.name == LIVE_ARTICLES))
    return int(counted.scalar_one())


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
    session: AsyncSession, table: Any, counted: Subquery, *, keep_updated_at: bool
) -> None:
    """Set ``articles_count`` of every row of ``table`` to its ``n`` in ``counted`` (0 if
    absent): 2 statements, each one pass (``UPDATE ... FROM``)."""
    # The row did not change: its onupdate timestamp stays as it is.
    same = {"updated_at": table.c.updated_at} if keep_updated_at else {}
    await session.execute(
        update(table)
        .where(table.c.articles_count != 0, table.c.id.not_in(select(counted.c.key)))
        .values(articles_count=0, **same)
    )
    await session.execute(
        update(table)
        .where(table.c.id == counted.c.key, table.c.articles_count != counted.c.n)
        .values(articles_count=counted.c.n, **same)
    )


@dataclass(frozen=True, slots=True)
class Drift:
    """A kept count that differs from the rows: ``table``'s row ``key`` keeps ``kept``."""

    table: str
    key: str
    kept: int
    actual: int


async def drift(session: AsyncSession) -> list[Drift]:
    """Every kept count that differs from a count of the rows, by table and key: 3 statements.

    Changes nothing. Each statement reads the kept counts and the rows from one snapshot, and a
    write moves both in one transaction, so a live service's writes never show up as drift.
    """
    kept_total = select(Counter.value).where(Counter.name == LIVE_ARTICLES).scalar_subquery()
    found = [
        Drift("counters", LIVE_ARTICLES, int(kept or 0), int(actual))
        for kept, actual in (await session.execute(select(kept_total, _live_total()))).all()
        if (kept or 0) != actual
    ]
    found += await _differing(
        session, User.__table__, name="users", key="username", counted=_live_by_author()
    )
    found += await _differing(
        session, Tag.__table__, name="tags", key="name", counted=_live_by_tag()
    )
    return found


async def _differing(
    session: AsyncSession, table: FromClause, *, name: str, key: str, counted: Subquery
) -> list[Drift]:
    """The rows of ``table`` whose ``articles_count`` is not their ``n`` in ``counted`` (0 if
    absent), named by their ``key`` column: 1 statement."""
    kept = table.c.articles_count
    actual = func.coalesce(counted.c.n, literal(0))
    rows = await session.execute(
        select(table.c[key], kept, actual)
        .select_from(table)
        .outerjoin(counted, counted.c.key == table.c.id)
        .where(kept != actual)
        .order_by(table.c[key])
    )
    return [Drift(name, str(row[0]), int(row[1]), int(row[2])) for row in rows]
