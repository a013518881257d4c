"""Exact counts of live articles and of favorites, kept by the writes that change them.

Every list shows how many articles match (``articles_count``), and counting the matching rows on
each request costs the database a pass over all of them: tens of milliseconds on the unfiltered
list at 100k articles, growing with the table. So the counts the lists need are kept instead:

- ``counters`` row ``live_articles``: every live article, striped
  (:mod:`conduit.domain.articles.striped_total`);
- ``users.articles_count``: the live articles by each author (the author filter, and the feed
  as the sum over the authors a reader follows);
- ``users.favorites_count``: the live articles each user favorited (the favorited filter);
- ``tags.articles_count``: the live articles carrying each tag (the tag filter, the tag list).

And every article read shows its ``favoritesCount``, which counted per row would read every
favorite of every article shown: ``articles.favorites_count`` keeps it, every favorite of the
article (whoever gave it, whether the article is live or not: favorites stay rows when it is
deleted, and come back with it), so deleting and restoring an article leave it alone. A
deactivated account's favorites stay rows and count too. (No API write deletes a user; one
deleted in the database takes its favorites with it by cascade, around the count, which
``conduit db recount`` then repairs.)

Each write that makes an article live (publish, restore) or not (delete), changes its tags, or
favorites it or takes a favorite back, adjusts them with relative writes (``n = n + 1``) in its
own unit of work: committed together with the write or not at all, so the counts are exact
whenever no write is in flight. :mod:`conduit.domain.articles.recount` recomputes them from the
rows and checks them.

No row is taken by every write of a kind. The author's row is shared only by that author's
writes. A tag's row is shared by the writes that carry the tag (the most popular one by a few
percent of publishes), held from the adjustment, which runs last, to the commit right after;
striping tags too would make the tag list and every tag page sum stripes, for contention a few
percent of the writes share. An article's row is shared by the favorites of that article
only. Locks are taken in one order in every transaction: the article's row, then the unit of
work's stripe row, then users' rows (the author's, and on delete and restore the article's
fans') in id order, then tag rows in id order, so no two count-changing transactions deadlock.
A favorite holds its article's row (exclusively: it moves the article's count) before it moves
its user's count, so it is ordered with a delete or restore of that article and with the other
favorites of it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Update,
    bindparam,
    case,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.dialect import is_mysql
from conduit.db.model import CompactUuid
from conduit.domain.articles import striped_total
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User


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


async def favorites_moved(
    session: AsyncSession, *, user_id: uuid.UUID, article_id: uuid.UUID, by: int
) -> None:
    """The user favorited (``by=1``) or took back (``-1``) the live article, as the statement
    that did it returned: 2 statements, the user's count and the article's. That statement held
    the article's row until commit, so a delete or restore of it, or another favorite of it, is
    ordered before or after, never beside it."""
    connection = await session.connection()
    await connection.execute(_MOVE_FAN, {"user_id": user_id, "by": by})
    await connection.execute(_MOVE_FAVORITED, {"article_id": article_id, "by": by})


async def _shift(
    session: AsyncSession,
    *,
    article_id: uuid.UUID,
    author_id: uuid.UUID,
    by: int,
    tagged: bool = True,
    favorited: bool = True,
) -> None:
    await striped_total.add(session, name=striped_total.LIVE_ARTICLES, by=by)
    await _move_users(session, article_id=article_id, author_id=author_id, by=by, all_=favorited)
    if not tagged:
        return
    connection = await session.connection()
    if is_mysql(session):
        # As _lock_in_order: the ids first, then point locks on exactly those rows.
        linked = await connection.execute(_ARTICLE_TAG_IDS, {"article_id": article_id})
        ids = list(linked.scalars())
        locked = await _lock_in_order(session, Tag, ids) if ids else []
    else:
        found = await connection.execute(_LOCK_ARTICLE_TAGS, {"article_id": article_id})
        locked = list(found.scalars())
    if locked:
        await connection.execute(_MOVE_TAGS, {"ids": locked, "by": by})


async def _move_users(
    session: AsyncSession, *, article_id: uuid.UUID, author_id: uuid.UUID, by: int, all_: bool
) -> None:
    """Add ``by`` to the author's ``articles_count`` and, with ``all_``, to the
    ``favorites_count`` of every user who favorited the article: 1 statement, 2 with ``all_``.

    With ``all_`` the rows are locked in id order first (:func:`_lock_in_order`): two articles
    withdrawn at once, each by an author who favorited the other's, would otherwise lock the
    two users' rows in opposite orders.
    """
    if not all_:
        connection = await session.connection()
        await connection.execute(_MOVE_AUTHOR, {"author_id": author_id, "by": by})
        return
    # Set to itself so the column's onupdate leaves it alone: the account did not change.
    unchanged = {"updated_at": User.updated_at}
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
    if isinstance(ids, Select):
        rows = await session.execute(_locking(entity, entity.id.in_(ids)))
    else:
        connection = await session.connection()
        rows = await connection.execute(_lock_listed(entity), {"ids": list(ids)})
    return list(rows.scalars())


def _locking(entity: Any, where: ColumnElement[bool]) -> Select[Any]:
    return select(entity.id).where(where).order_by(entity.id).with_for_update(key_share=True)


@functools.lru_cache(maxsize=4)
def _lock_listed(entity: Any) -> Select[Any]:
    """Lock the rows of ``entity`` whose ids are bound as ``ids``: built once per entity."""
    return _locking(entity, entity.id.in_(bindparam("ids", expanding=True)))


# The statements every publish and delete sends, built once: building a statement and deriving
# its cache key cost more CPU than sending it.
_ARTICLE_TAG_IDS = select(ArticleTag.tag_id).where(
    ArticleTag.article_id == bindparam("article_id", type_=CompactUuid())
)
_LOCK_ARTICLE_TAGS = _locking(Tag, Tag.id.in_(_ARTICLE_TAG_IDS))
_MOVE_TAGS = (
    update(Tag)
    .where(Tag.id.in_(bindparam("ids", expanding=True)))
    .values(articles_count=Tag.articles_count + bindparam("by", type_=Integer()))
)


def _moving(count: Any, key: Any, param: str) -> Update:
    """``count = count + :by`` on the row whose ``key`` is ``:param``, built once.

    ``updated_at`` is set to itself so the column's onupdate leaves it alone: a kept count
    moved, the row's content did not change.
    """
    entity = count.class_
    return (
        update(entity)
        .where(key == bindparam(param, type_=CompactUuid()))
        .values(
            {count.key: count + bindparam("by", type_=Integer()), "updated_at": entity.updated_at}
        )
    )


_MOVE_FAN = _moving(User.favorites_count, User.id, "user_id")
_MOVE_FAVORITED = _moving(Article.favorites_count, Article.id, "article_id")
_MOVE_AUTHOR = _moving(User.articles_count, User.id, "author_id")
