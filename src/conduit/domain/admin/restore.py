"""Undoing a soft delete.

A deleted article keeps its slug, and slugs are unique among live articles only (the partial
unique index ``uq_articles_slug``), so by the time an admin restores an article a live one may
have taken its slug. The UPDATE then violates the index. It runs inside a savepoint, so only
the savepoint is rolled back and the caller's transaction stays usable: on PostgreSQL a failed
statement outside one would abort the whole transaction.

Several deleted articles can share a slug (each deleted while live under it); the most
recently deleted one is restored, the one a reader saw last.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from conduit.db.dialect import claim
from conduit.db.errors import Conflict, translate
from conduit.domain.articles import kept_counts
from conduit.domain.articles.models import Article
from conduit.domain.errors import ConflictError, NotFoundError, TakenError

SUBJECT = "article"


class AlreadyLive(ConflictError):
    """The article with the slug is live: there is nothing to restore."""

    def __init__(self) -> None:
        super().__init__(SUBJECT, "is already live")


async def restore_article(session: AsyncSession, *, slug: str) -> uuid.UUID:
    """Make the most recently deleted article with ``slug`` live again: 4 statements (the
    update, then the counts of live articles); 1 or 2 when refused (the update, and the read
    that says why when it found nothing to restore). MariaDB and MySQL claim the row first
    (:func:`conduit.db.dialect.claim`): 1 more when it restores.

    The UPDATE's own WHERE requires the row to be deleted still: the subquery that picks it
    is evaluated once, so of two restores of one article, the one that waited for the row
    lock would otherwise apply again on the row the other made live, and move the counts
    twice. Re-checking the row it waited for, it updates nothing instead.

    Raises :class:`NotFoundError` when no article has the slug, :class:`AlreadyLive` when
    none with it is deleted (it is live), and :class:`TakenError` on ``slug`` when a deleted
    one is, but a live article has the slug.
    """
    # An alias, not Article: the same table inside UPDATE articles would be correlated away.
    deleted = aliased(Article)
    newest = (
        select(deleted.id)
        .where(deleted.slug == slug, deleted.deleted_at.is_not(None))
        .order_by(deleted.deleted_at.desc(), deleted.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    try:
        async with session.begin_nested():
            claimed = await claim(
                session,
                Article,
                where=[Article.id == newest, Article.deleted_at.is_not(None)],
                values={"deleted_at": None},
                returning=[Article.id, Article.author_id],
            )
            restored = claimed[0] if claimed else None
    except IntegrityError as exc:
        if isinstance(translate(exc), Conflict):
            raise TakenError("slug") from exc
        raise
    if restored is None:
        # An article with the slug that was not restorable was live when the UPDATE ran
        # (whatever has happened to it since): no article at all is the only 404.
        known = select(Article.id).where(Article.slug == slug).limit(1)
        if (await session.execute(known)).first() is not None:
            raise AlreadyLive()
        raise NotFoundError(SUBJECT)
    await kept_counts.went_live(session, article_id=restored.id, author_id=restored.author_id)
    article_id: uuid.UUID = restored.id
    return article_id
