"""Public profiles, the profile search and the follow graph.

Following is idempotent: following twice is ``INSERT ... ON CONFLICT DO NOTHING`` (one
statement, no read first, no race between two identical requests) and unfollowing someone one
does not follow deletes nothing.

The search matches usernames only (never e-mail addresses), case-insensitively, anywhere in
the name: ``username ILIKE '%q%'`` with ``q``'s own ``%`` and ``_`` taken literally. On
PostgreSQL the trigram index ``ix_users_username_trgm`` serves it; SQLite scans, and folds case
for ASCII letters only. Deactivated accounts are found too: their profiles stay readable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, delete, exists, false, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.errors import InvalidError, NotFoundError
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.users.models import User

SUBJECT = "profile"
# The escape character of every LIKE pattern built from user input.
LIKE_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class ProfileView:
    """A user as others see them, from the viewer's point of view."""

    username: str
    bio: str | None
    image: str | None
    following: bool


@dataclass(frozen=True, slots=True)
class ProfilePage:
    profiles: list[ProfileView]
    profiles_count: int


def dialect_insert(session: AsyncSession, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with the ``ON CONFLICT`` clauses of the session's dialect.

    Both dialects spell ``on_conflict_do_nothing()`` and ``on_conflict_do_update()`` alike.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(entity)
    return sqlite.insert(entity)


def escape_like(text: str) -> str:
    """``text`` for a LIKE pattern that matches it literally: ``%`` and ``_`` lose their power.

    Use with ``escape=LIKE_ESCAPE``; the escape character itself is escaped first.
    """
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def _following(viewer_id: uuid.UUID | None) -> ColumnElement[bool]:
    if viewer_id is None:
        return false().label("following")
    return (
        exists()
        .where(Follow.follower_id == viewer_id, Follow.followee_id == User.id)
        .label("following")
    )


async def search_profiles(
    session: AsyncSession, *, query: str, viewer_id: uuid.UUID | None, limit: int, offset: int
) -> ProfilePage:
    """Profiles whose username contains ``query``: those starting with it first, then
    alphabetically. One statement, the total riding on the page as ``count(*) OVER ()``
    (2 for an empty page past the start, which has no row to carry it).
    """
    literal_text = escape_like(query)
    matches = User.username.ilike(f"%{literal_text}%", escape=LIKE_ESCAPE)
    starts = case((User.username.ilike(f"{literal_text}%", escape=LIKE_ESCAPE), 0), else_=1)
    folded: ColumnElement[str] = func.lower(User.username)
    if session.get_bind().dialect.name == "postgresql":
        # Byte order, as SQLite sorts: the same list on both, whatever the server's locale.
        folded = folded.collate("C")
    statement = (
        select(
            User.username,
            Profile.bio,
            Profile.image,
            _following(viewer_id),
            func.count().over().label("total"),
        )
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(matches)
        .order_by(starts, folded, User.username)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(statement)).all()
    if rows:
        total: int = rows[0].total
    elif offset == 0:
        total = 0
    else:
        count = select(func.count()).select_from(User).where(matches)
        total = (await session.execute(count)).scalar_one()
    return ProfilePage(
        profiles=[
            ProfileView(username=r[0], bio=r[1], image=r[2], following=bool(r[3])) for r in rows
        ],
        profiles_count=total,
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
