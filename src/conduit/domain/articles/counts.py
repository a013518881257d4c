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
upgrade (``conduit db recount``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Subquery, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.articles.models import Article, Counter
from conduit.domain.profiles.service import dialect_insert
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User

LIVE_ARTICLES = "live_articles"


async def went_live(
    session: AsyncSession, *, article_id: uuid.UUID, author_id: uuid.UUID, tagged: bool = True
) -> None:
    """The article became live (published or restored), its tags linked: 3 statements, 2 if
    the caller knows it has no tags (``tagged=False``)."""
    await _shift(session, article_id=article_id, author_id=author_id, by=1, tagged=tagged)


async def withdrawn(session: AsyncSession, *, article_id: uuid.UUID, author_id: uuid.UUID) -> None:
    """The live article was deleted; its tag links stay: 3 statements."""
    await _shift(session, article_id=article_id, author_id=author_id, by=-1)


async def retagged(session: AsyncSession, *, removed: Sequence[str], added: Sequence[str]) -> None:
    """A live article lost the tags ``removed`` and gained ``added``: 1 statement (none if
    neither has a name)."""
    if not removed and not added:
        return
    delta = case((Tag.name.in_(added), 1), else_=0) - case((Tag.name.in_(removed), 1), else_=0)
    await session.execute(
        update(Tag)
        .where(Tag.name.in_([*removed, *added]))
        .values(articles_count=Tag.articles_count + delta)
        .execution_options(synchronize_session=False)
    )


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
    await session.execute(
        update(Tag)
        .where(Tag.id.in_(tag_ids))
        .values(articles_count=Tag.articles_count + by)
        .execution_options(synchronize_session=False)
    )


async def recount(session: AsyncSession) -> int:
    """Recompute every count from the rows, in the caller's transaction; returns the total.

    Set-based (each table's counts aggregated once and joined back), so the cost is one pass
    over the rows whatever the planner knows: after a bulk load the tables have no statistics
    yet, and a correlated count per row could be planned as a scan of the table per row.
    """
    live = Article.deleted_at.is_(None)
    total = select(func.count()).select_from(Article).where(live).scalar_subquery()
    # The total's row first, as every writer takes it: writers wait until this commits.
    upsert = dialect_insert(session, Counter).values(name=LIVE_ARTICLES, value=total)
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": upsert.excluded.value}
        )
    )
    by_author = (
        select(Article.author_id.label("key"), func.count().label("n"))
        .where(live)
        .group_by(Article.author_id)
        .subquery()
    )
    await _assign(session, User.__table__, by_author, keep_updated_at=True)
    by_tag = (
        select(ArticleTag.tag_id.label("key"), func.count().label("n"))
        .join(Article, Article.id == ArticleTag.article_id)
        .where(live)
        .group_by(ArticleTag.tag_id)
        .subquery()
    )
    await _assign(session, Tag.__table__, by_tag, keep_updated_at=False)
    counted = await session.execute(select(Counter.value).where(Counter.name == LIVE_ARTICLES))
    return int(counted.scalar_one())


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
