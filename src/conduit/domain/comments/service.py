"""Comments on articles: list, add, soft-delete.

Each operation finds the live article by slug in the same statement as its own work, so a
missing article costs nothing extra: the list is one ``articles LEFT JOIN comments`` (no row
means no article), and a new comment is one ``INSERT ... SELECT ... RETURNING`` (no row
returned means no article). Statement counts, authentication not included: list 1, create 1,
delete 1 (the guarded update), or 2 when refused (the read that says why).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    and_,
    bindparam,
    exists,
    false,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.dialect import matched
from conduit.db.model import CompactUuid, utcnow
from conduit.domain.articles.models import Article
from conduit.domain.articles.service import SUBJECT as ARTICLE
from conduit.domain.articles.service import may_delete, may_moderate
from conduit.domain.comments.models import Comment
from conduit.domain.errors import ForbiddenError, NotFoundError
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.profiles.service import ProfileView
from conduit.domain.users.models import User
from conduit.domain.users.service import Identity

SUBJECT = "comment"


@dataclass(frozen=True, slots=True)
class CommentView:
    id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    body: str
    author: ProfileView


def _following(viewer_id: uuid.UUID | None) -> ColumnElement[bool]:
    if viewer_id is None:
        return false().label("following")
    return (
        exists()
        .where(Follow.follower_id == viewer_id, Follow.followee_id == Comment.author_id)
        .label("following")
    )


def _live_article(slug: str) -> ColumnElement[bool]:
    return and_(Article.slug == slug, Article.deleted_at.is_(None))


async def list_for_article(
    session: AsyncSession, *, slug: str, viewer_id: uuid.UUID | None
) -> list[CommentView]:
    """The live comments of the live article ``slug``, newest first."""
    statement = (
        select(
            Comment.id,
            Comment.created_at,
            Comment.updated_at,
            Comment.body,
            User.username,
            Profile.bio,
            Profile.image,
            _following(viewer_id),
        )
        .select_from(Article)
        .outerjoin(Comment, and_(Comment.article_id == Article.id, Comment.deleted_at.is_(None)))
        .outerjoin(User, User.id == Comment.author_id)
        .outerjoin(Profile, Profile.user_id == Comment.author_id)
        .where(_live_article(slug))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
    )
    rows = (await session.execute(statement)).all()
    if not rows:
        raise NotFoundError(ARTICLE)
    return [_view(row) for row in rows if row.id is not None]


def _view(row: Any) -> CommentView:
    return CommentView(
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        body=row.body,
        author=ProfileView(
            username=row.username, bio=row.bio, image=row.image, following=bool(row.following)
        ),
    )


# Built once: every comment sends it.
_ADD_COMMENT = (
    insert(Comment)
    .from_select(
        [Comment.body, Comment.article_id, Comment.author_id],
        select(
            bindparam("body", type_=Text()),
            Article.id,
            bindparam("author_id", type_=CompactUuid()),
        ).where(Article.slug == bindparam("slug", type_=String()), Article.deleted_at.is_(None)),
    )
    .returning(Comment.id, Comment.created_at, Comment.updated_at)
)


async def create_comment(
    session: AsyncSession, *, author: Identity, slug: str, body: str
) -> CommentView:
    """Add ``author``'s comment to the live article ``slug``."""
    connection = await session.connection()
    added = await connection.execute(
        _ADD_COMMENT, {"body": body, "author_id": author.id, "slug": slug}
    )
    row = added.one_or_none()
    if row is None:
        raise NotFoundError(ARTICLE)
    return CommentView(
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        body=body,
        author=ProfileView(
            username=author.username, bio=author.bio, image=author.image, following=False
        ),
    )


async def delete_comment(
    session: AsyncSession, *, actor: Identity, slug: str, comment_id: int
) -> None:
    """Soft-delete a comment: its author, or a moderator or admin, may.

    One guarded ``UPDATE ... WHERE deleted_at IS NULL``: of two deletes of one
    comment, the one that waited for the row finds it deleted and is told it is not found.
    When nothing was deleted, one read says why (no article, no comment, or not allowed).
    """
    allowed = true() if may_moderate(actor) else Comment.author_id == actor.id
    on_article = select(Article.id).where(_live_article(slug)).scalar_subquery()
    deleted = await matched(
        session,
        update(Comment)
        .where(
            Comment.id == comment_id,
            Comment.article_id == on_article,
            Comment.deleted_at.is_(None),
            allowed,
        )
        .values(deleted_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    if deleted == 0:
        await _refuse_delete(session, actor=actor, slug=slug, comment_id=comment_id)


async def _refuse_delete(
    session: AsyncSession, *, actor: Identity, slug: str, comment_id: int
) -> None:
    """Raise why the comment could not be deleted: 1 statement."""
    row = (
        await session.execute(
            select(Comment.id, Comment.author_id)
            .select_from(Article)
            .outerjoin(
                Comment,
                and_(
                    Comment.id == comment_id,
                    Comment.article_id == Article.id,
                    Comment.deleted_at.is_(None),
                ),
            )
            .where(_live_article(slug))
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(ARTICLE)
    # Live now, and the actor may: its article came back live after the UPDATE.
    if row.id is None or may_delete(actor, author_id=row.author_id):
        raise NotFoundError(SUBJECT)
    raise ForbiddenError(SUBJECT)
