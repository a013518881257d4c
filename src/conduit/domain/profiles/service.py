"""Public profiles and the follow graph.

Following is idempotent: following twice is ``INSERT ... ON CONFLICT DO NOTHING`` (one
statement, no read first, no race between two identical requests) and unfollowing someone one
does not follow deletes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.errors import InvalidError, NotFoundError
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.users.models import User

SUBJECT = "profile"


@dataclass(frozen=True, slots=True)
class ProfileView:
    """A user as others see them, from the viewer's point of view."""

    username: str
    bio: str | None
    image: str | None
    following: bool


def dialect_insert(session: AsyncSession, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with the ``ON CONFLICT`` clauses of the session's dialect.

    Both dialects spell ``on_conflict_do_nothing()`` and ``on_conflict_do_update()`` alike.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(entity)
    return sqlite.insert(entity)


def _following(viewer_id: uuid.UUID) -> ColumnElement[bool]:
    return (
        exists()
        .where(Follow.follower_id == viewer_id, Follow.followee_id == User.id)
        .label("following")
    )


async def get_profile(
    session: AsyncSession, *, username: str, viewer_id: uuid.UUID | None
) -> ProfileView:
    """The profile of ``username``; ``following`` says whether the viewer follows them.

    One statement, the follow check included as an EXISTS column. Anonymous viewers follow no one.
    """
    columns: list[Any] = [User.username, Profile.bio, Profile.image]
    if viewer_id is not None:
        columns.append(_following(viewer_id))
    row = (
        await session.execute(
            select(*columns)
            .outerjoin(Profile, Profile.user_id == User.id)
            .where(User.username == username)
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(SUBJECT)
    following = bool(row[3]) if viewer_id is not None else False
    return ProfileView(username=row[0], bio=row[1], image=row[2], following=following)


async def follow(session: AsyncSession, *, follower_id: uuid.UUID, username: str) -> ProfileView:
    """Make ``follower_id`` follow ``username``: two statements (find them, insert the edge)."""
    followee_id, username, bio, image = await _target(session, username=username)
    if followee_id == follower_id:
        # The database's CHECK (no_self_follow) refuses it too; this names the rule for the client.
        raise InvalidError(SUBJECT, "cannot follow yourself")
    await session.execute(
        dialect_insert(session, Follow)
        .values(follower_id=follower_id, followee_id=followee_id)
        .on_conflict_do_nothing()
    )
    return ProfileView(username=username, bio=bio, image=image, following=True)


async def unfollow(session: AsyncSession, *, follower_id: uuid.UUID, username: str) -> ProfileView:
    """Stop ``follower_id`` following ``username``: two statements (find them, delete the edge)."""
    followee_id, username, bio, image = await _target(session, username=username)
    await session.execute(
        delete(Follow)
        .where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
        .execution_options(synchronize_session=False)
    )
    return ProfileView(username=username, bio=bio, image=image, following=False)


async def _target(
    session: AsyncSession, *, username: str
) -> tuple[uuid.UUID, str, str | None, str | None]:
    """The id, username, bio and image of ``username``; NotFoundError when there is no such user."""
    row = (
        await session.execute(
            select(User.id, User.username, Profile.bio, Profile.image)
            .outerjoin(Profile, Profile.user_id == User.id)
            .where(User.username == username)
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(SUBJECT)
    return row[0], row[1], row[2], row[3]
