"""Exact counts of live articles, kept by the writes that change them.

Every list shows how many articles match (``articlesCount``), and counting the matching rows on
each request costs the database a pass over all of them: tens of milliseconds on the unfiltered
list at 100k articles, growing with the table. So the counts the lists need are kept instead:

- ``counters`` row ``live_articles``: every live article;
- ``users.articles_count``: the live articles by each author (the author filter, and the feed
  as the sum over the authors a reader follows);
- ``users.favorites_count``: the live articles each user favorited (the favorited filter);
- ``tags.articles_count``: the live articles carrying each tag (the tag filter, the tag list).

Each write that makes an article live (publish, restore) or not (delete), changes its tags, or
favorites it or takes a favorite back, adjusts them with relative writes (``n = n + 1``) in its
own unit of work: committed together with the write or not at all, so the counts are exact
whenever no write is in flight.

No row is taken by every write of a kind. The total is striped, as a grow-only pair per
stripe: besides its base row ``live_articles`` (where :func:`recount` puts the whole count),
``counters`` has rows ``live_articles+<s>`` and ``live_articles-<s>`` for :data:`STRIPES`
stripes, and a unit of work adds 1 to its stripe's ``+`` row for each article that goes live
and to its ``-`` row for each that is withdrawn (an upsert: a row appears on first use), the
stripe picked at random once per unit of work. Every row only grows, so none goes below zero;
the count is the base plus the ``+`` rows minus the ``-`` rows, summed when read (a
primary-key read of 33 rows at most). The author's row is shared only by that author's writes.
A tag's row is shared by the writes that carry the tag (the most popular one by a few percent
of publishes), held from the adjustment, which runs last, to the commit right after; striping
tags too would make the tag list and every tag page sum stripes, for contention a few percent
of the writes share. Locks are taken in one order in every transaction: the unit of work's
stripe row, then users' rows (the author's, and on delete and restore the article's fans') in id
order, then tag rows in id order, so no two count-changing transactions deadlock. A favorite
holds its article's row ``FOR SHARE`` before it moves its user's count, so it is ordered with
a delete or restore of that article.

:func:`recount` computes them afresh from the rows, for writes that bypass the services: a bulk
load (``conduit db seed`` calls it), or instances of an older version still writing during an
upgrade (``conduit db recount``). :func:`drift` compares them with the rows and changes nothing
(``conduit db recount --check``, and the concurrency tests' oracle). Both cover the copies of
each article's ``created_at`` on its tag links and favorites (the list order of those filters,
written with each row): recount repairs a missing or wrong copy, drift reports them.
"""

from __future__ import annotations

import random
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
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.dialect import dialect_insert, is_mysql
from conduit.domain.articles.models import Article, Counter, Favorite
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User

LIVE_ARTICLES = "live_articles"
# Stripes per striped count: enough that concurrent writers rarely share one.
STRIPES = 16
_STRIPE_KEY = "conduit.counter_stripe"
_LIVE = Article.deleted_at.is_(None)


def _stripe_name(name: str, stripe: int, *, by: int) -> str:
    return f"{name}{'+' if by > 0 else '-'}{stripe}"


def _rows(name: str) -> tuple[list[str], list[str]]:
    """The names of the rows that add to count ``name`` and of those that subtract from it."""
    adding = [name, *(_stripe_name(name, s, by=1) for s in range(STRIPES))]
    return adding, [_stripe_name(name, s, by=-1) for s in range(STRIPES)]


def total(name: str = LIVE_ARTICLES) -> ScalarSelect[int]:
    """The count ``name``: its base and ``+`` rows less its ``-`` rows (0 before any write)."""
    adding, subtracting = _rows(name)
    signed = case((Counter.name.in_(subtracting), -Counter.value), else_=Counter.value)
    return (
        select(func.coalesce(func.sum(signed), 0))
        .where(Counter.name.in_([*adding, *subtracting]))
        .scalar_subquery()
    )


async def _add_to_stripe(session: AsyncSession, *, name: str, by: int) -> None:
    """Add ``by`` to count ``name`` through this unit of work's stripe: 1 statement.

    One stripe per unit of work, so a transaction that moves a count twice locks rows of one
    stripe, never rows of two in an order another transaction could reverse.
    """
    stripe: int = session.info.setdefault(_STRIPE_KEY, random.randrange(STRIPES))  # noqa: S311 - spreading load, not security
    row = dialect_insert(session, Counter).values(
        name=_stripe_name(name, stripe, by=by), value=abs(by)
    )
    await session.execute(
        row.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": Counter.value + row.excluded.value}
        )
    )


async def went_live(
    session: AsyncSession,
    *,
    article_id: uuid.UUID,
    author_id: uuid.UUID,
    tagged: bool = True,
    favorited: bool = True,
) -> None:
    """The article became live (published or restored), its tags linked: 3 statements, 2 if
    the caller knows it has no tags (``tagged=False``). ``favorited=False``: the caller knows
    no one has favorited it (a new article), so only its author's row is touched."""
    await _shift(
        session,
        article_id=article_id,
        author_id=author_id,
        by=1,
        tagged=tagged,
        favorited=favorited,
    )


async def withdrawn(session: AsyncSession, *, article_id: uuid.UUID, author_id: uuid.UUID) -> None:
    """The live article was deleted; its tag links and favorites stay: 3 statements."""
    await _shift(session, article_id=article_id, author_id=author_id, by=-1)


async def retagged(session: AsyncSession, *, removed: Sequence[int], added: Sequence[int]) -> None:
    """A live article's links to the tags ``removed`` were deleted and to ``added`` inserted
    (ids, as the statements that did it returned them): 1 statement (none if both are empty)."""
    if not removed and not added:
        return
    delta = case((Tag.id.in_(added), 1), else_=0) - case((Tag.id.in_(removed), 1), else_=0)
    await _move_tags(session, ids=[*removed, *added], by=delta)


async def favorites_moved(session: AsyncSession, *, user_id: uuid.UUID, by: int) -> None:
    """The user favorited (``by=1``) or took back (``-1``) a live article, as the statement
    that did it returned: 1 statement. That statement held the article's row (``FOR SHARE``),
    so a delete or restore of it is ordered before or after, never beside it."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(favorites_count=User.favorites_count + by, updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )


async def _shift(
    session: AsyncSession,
    *,
    article_id: uuid.UUID,
    author_id: uuid.UUID,
    by: int,
    tagged: bool = True,
    favorited: bool = True,
) -> None:
    await _add_to_stripe(session, name=LIVE_ARTICLES, by=by)
    await _move_users(session, article_id=article_id, author_id=author_id, by=by, all_=favorited)
    if not tagged:
        return
    tag_ids = select(ArticleTag.tag_id).where(ArticleTag.article_id == article_id)
    await _move_tags(session, ids=tag_ids, by=by)


async def _move_users(
    session: AsyncSession, *, article_id: uuid.UUID, author_id: uuid.UUID, by: int, all_: bool
) -> None:
    """Add ``by`` to the author's ``articles_count`` and, with ``all_``, to the
    ``favorites_count`` of every user who favorited the article: 1 statement, 2 with ``all_``.

    With ``all_`` the rows are locked in id order first (:func:`_lock_in_order`): two articles
    withdrawn at once, each by an author who favorited the other's, would otherwise lock the
    two users' rows in opposite orders.
    """
    # Set to itself so the column's onupdate leaves it alone: the account did not change.
    unchanged = {"updated_at": User.updated_at}
    if not all_:
        await session.execute(
            update(User)
            .where(User.id == author_id)
            .values(articles_count=User.articles_count + by, **unchanged)
            .execution_options(synchronize_session=False)
        )
        return
    fans = select(Favorite.user_id).where(Favorite.article_id == article_id)
    locked = await _lock_in_order(
        session, User, select(User.id).where(or_(User.id == author_id, User.id.in_(fans)))
    )
    await session.execute(
        update(User)
        .where(User.id.in_(locked))
        .values(
            articles_count=User.articles_count + case((User.id == author_id, by), else_=0),
            favorites_count=User.favorites_count + case((User.id.in_(fans), by), else_=0),
            **unchanged,
        )
        .execution_options(synchronize_session=False)
    )


async def _move_tags(
    session: AsyncSession, *, ids: Sequence[int] | Select[int], by: int | ColumnElement[int]
) -> None:
    """Add ``by`` to the count of each tag in ``ids``: 2 statements (1 if there is none)."""
    locked = await _lock_in_order(session, Tag, ids)
    if locked:
        await session.execute(
            update(Tag)
            .where(Tag.id.in_(locked))
            .values(articles_count=Tag.articles_count + by)
            .execution_options(synchronize_session=False)
        )


async def _lock_in_order(session: AsyncSession, entity: Any, ids: Any) -> list[Any]:
    """Lock the rows of ``entity`` with the ``ids`` in id order (``SELECT ... ORDER BY id FOR
    NO KEY UPDATE``; SQLite has one write lock and renders no locking clause); their ids.

    Two writers that share rows (tags, users) would otherwise lock them in opposite orders and
    deadlock. The lock is a statement of its own, before the UPDATE that uses it: locking inside
    the UPDATE's subquery, the UPDATE's own scan, from the statement's snapshot, meets the old
    version of a row that a writer changed meanwhile and queues behind the writers waiting for
    it, which wait for this one (a deadlock PostgreSQL reports as such).
    """
    if is_mysql(session) and isinstance(ids, Select):
        # InnoDB locks (and waits for) every row its plan reads, and for a subquery it may read
        # a range of the table, rows other writers hold included: the ids first, then point
        # locks on exactly those rows. 1 statement more there.
        ids = list((await session.execute(ids)).scalars())
        if not ids:
            return []
    rows = await session.execute(
        select(entity.id)
        .where(entity.id.in_(ids))
        .order_by(entity.id)
        .with_for_update(key_share=True)
    )
    return list(rows.scalars())


async def recount(session: AsyncSession) -> int:
    """Recompute every count from the rows, in the caller's transaction; returns the total.

    Set-based (each table's counts aggregated once and joined back), so the cost is one pass
    over the rows whatever the planner knows: after a bulk load the tables have no statistics
    yet, and a correlated count per row could be planned as a scan of the table per row.
    """
    # The total's rows first, as writers take one: writers wait until this commits. The total
    # is then counted in a statement of its own, after the lock, seeing every writer that
    # committed before it; the stripes start again from zero.
    adding, subtracting = _rows(LIVE_ARTICLES)
    names = [*adding, *subtracting]
    await session.execute(
        select(Counter.name).where(Counter.name.in_(names)).order_by(Counter.name).with_for_update()
    )
    await session.execute(delete(Counter).where(Counter.name.in_(names[1:])))
    upsert = dialect_insert(session, Counter).values(name=LIVE_ARTICLES, value=_live_total())
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": upsert.excluded.value}
        )
    )
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
    return int((await session.execute(select(total()))).scalar_one())


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
    found = [
        Drift("counters", LIVE_ARTICLES, int(kept), int(actual))
        for kept, actual in (await session.execute(select(total(), _live_total()))).all()
        if kept != actual
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
        select(table.c[key], kept, actual)
        .select_from(table)
        .outerjoin(counted, counted.c.key == table.c.id)
        .where(kept != actual)
        .order_by(table.c[key])
    )
    return [Drift(name, str(row[0]), int(row[1]), int(row[2])) for row in rows]
