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

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db import documents as doc
from conduit.db.dialect import LIKE_ESCAPE, dialect_insert, escape_like
from conduit.domain.errors import InvalidError, NotFoundError
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.users.models import User
from conduit.domain.viewer import VIEWER, viewer_param

SUBJECT = "profile"


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


def _following(viewer: bool) -> ColumnElement[bool]:
    """Whether the viewer (the parameter ``:viewer_id``) follows the user; false if no one."""
    if not viewer:
        return false()
    return exists().where(Follow.follower_id == viewer_param(), Follow.followee_id == User.id)


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
    elif session.get_bind().dialect.name == "mysql":
        folded = folded.collate("utf8mb4_bin")
    statement = (
        select(
            User.username,
            Profile.bio,
            Profile.image,
            _following(viewer_id is not None).label("following"),
            func.count().over().label("total"),
        )
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(matches)
        .order_by(starts, folded, User.username)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(statement, {VIEWER: viewer_id})).all()
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


_USERNAME = "username"


@functools.lru_cache(maxsize=4)
def _profile_statement(*, viewer: bool, as_document: bool) -> Select[Any]:
    following = _following(viewer)
    columns: tuple[Any, ...]
    if as_document:
        document = doc.obj(
            [
                ("username", doc.value(User.username)),
                ("bio", doc.value(Profile.bio)),
                ("image", doc.value(Profile.image)),
                ("following", doc.value(following)),
            ]
        )
        columns = (document.label("document"),)
    else:
        columns = (User.username, Profile.bio, Profile.image, following.label("following"))
    return (
        select(*columns)
        .select_from(User)
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(User.username == bindparam(_USERNAME, type_=String()))
    )


async def _profile_row(
    session: AsyncSession, *, username: str, viewer_id: uuid.UUID | None, as_document: bool
) -> Any:
    statement = _profile_statement(viewer=viewer_id is not None, as_document=as_document)
    connection = await session.connection()
    row = (await connection.execute(statement, {_USERNAME: username, VIEWER: viewer_id})).first()
    if row is None:
        raise NotFoundError(SUBJECT)
    return row


async def get_profile(
    session: AsyncSession, *, username: str, viewer_id: uuid.UUID | None
) -> ProfileView:
    """The profile of ``username``; ``following`` says whether the viewer follows them.

    One statement, the follow check included as an EXISTS column. Anonymous viewers follow no one.
    """
    row = await _profile_row(session, username=username, viewer_id=viewer_id, as_document=False)
    return ProfileView(username=row[0], bio=row[1], image=row[2], following=bool(row[3]))


async def get_profile_document(
    session: AsyncSession, *, username: str, viewer_id: uuid.UUID | None
) -> str:
    """:func:`get_profile` as the API's JSON, built by PostgreSQL (see
    :mod:`conduit.db.documents`): 1 statement."""
    row = await _profile_row(session, username=username, viewer_id=viewer_id, as_document=True)
    return str(row[0])


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
