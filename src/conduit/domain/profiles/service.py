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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
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

from conduit.db import rows as by_label
from conduit.db.dialect import LIKE_ESCAPE, dialect_insert, escape_like
from conduit.db.documents import DOCUMENT, Document
from conduit.domain.errors import InvalidError, NotFoundError
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.users.models import User
from conduit.domain.users.service import read_checking_account
from conduit.domain.viewer import VIEWER, viewer_param

SUBJECT = "profile"


@dataclass(frozen=True, slots=True)
class ProfileView:
    """A user as others see them, from the viewer's point of view."""

    username: str
    bio: str | None
    image: str | None
    following: bool


_FIELDS = tuple(field.name for field in fields(ProfileView))


def profile_reader(keys: Iterable[str]) -> Callable[[Sequence[Any]], ProfileView]:
    """The profile in each row of a result whose columns are labelled ``keys``, among them the
    fields of :class:`ProfileView`: the labels are looked up once, not per row."""
    read = by_label.columns(keys, _FIELDS)
    return lambda row: ProfileView(*read(row))


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
            *by_label.select_list(columns(viewer_id is not None)),
            func.count().over().label("total"),
        )
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(matches)
        .order_by(starts, folded, User.username)
        .limit(limit)
        .offset(offset)
    )
    result = await session.execute(statement, {VIEWER: viewer_id})
    view = profile_reader(result.keys())
    rows = result.all()
    if rows:
        total: int = rows[0].total
    elif offset == 0:
        total = 0
    else:
        count = select(func.count()).select_from(User).where(matches)
        total = (await session.execute(count)).scalar_one()
    return ProfilePage(
        profiles=[view(row) for row in rows],
        profiles_count=total,
    )


_USERNAME = "username"


def columns(viewer: bool) -> dict[str, ColumnElement[Any]]:
    """What a profile read selects, by label: the fields of :class:`ProfileView`."""
    return {
        "username": User.username.expression,
        "bio": Profile.bio.expression,
        "image": Profile.image.expression,
        "following": _following(viewer),
    }


@functools.lru_cache(maxsize=8)
def _profile_statement(*, viewer: bool, document: Document | None) -> Select[Any]:
    selected = columns(viewer)
    projection: tuple[Any, ...]
    if document is not None:
        projection = (document(selected).label(DOCUMENT),)
    else:
        projection = by_label.select_list(selected)
    return (
        select(*projection)
        .select_from(User)
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(User.username == bindparam(_USERNAME, type_=String()))
    )


async def _profile_row(
    session: AsyncSession,
    *,
    username: str,
    viewer_id: uuid.UUID | None,
    document: Document | None,
) -> Any:
    statement = _profile_statement(viewer=viewer_id is not None, document=document)
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
    row = await _profile_row(session, username=username, viewer_id=viewer_id, document=None)
    return ProfileView(**row._mapping)


async def get_profile_document(
    session: AsyncSession, *, username: str, viewer_id: uuid.UUID | None, document: Document
) -> str:
    """:func:`get_profile` as JSON that ``document`` writes from the profile's columns, built
    by PostgreSQL (see :mod:`conduit.db.documents`): 1 statement."""
    row = await _profile_row(session, username=username, viewer_id=viewer_id, document=document)
    return str(row.document)


async def get_checked_profile_document(
    session: AsyncSession,
    *,
    username: str,
    reader_id: uuid.UUID,
    token_version: int,
    document: Document,
) -> tuple[bool, str]:
    """:func:`get_profile_document` for a reader whose account is not yet checked: whether it
    is active at ``token_version``, and then the profile as it sees it (not found raises only
    for an active reader): 1 statement for both (see
    :func:`conduit.domain.users.service.read_checking_account`)."""
    active, written = await read_checking_account(
        session,
        _profile_statement(viewer=True, document=document),
        {_USERNAME: username},
        reader_id=reader_id,
        token_version=token_version,
    )
    if active and written is None:
        raise NotFoundError(SUBJECT)
    return active, written or ""


async def follow(session: AsyncSession, *, follower_id: uuid.UUID, username: str) -> ProfileView:
    """Make ``follower_id`` follow ``username``: two statements (find them, insert the edge)."""
    target = await _target(session, username=username)
    if target.id == follower_id:
        # The database's CHECK (no_self_follow) refuses it too; this names the rule for the client.
        raise InvalidError(SUBJECT, "cannot follow yourself")
    await session.execute(
        dialect_insert(session, Follow)
        .values(follower_id=follower_id, followee_id=target.id)
        .on_conflict_do_nothing()
    )
    return ProfileView(username=target.username, bio=target.bio, image=target.image, following=True)


async def unfollow(session: AsyncSession, *, follower_id: uuid.UUID, username: str) -> ProfileView:
    """Stop ``follower_id`` following ``username``: two statements (find them, delete the edge)."""
    target = await _target(session, username=username)
    await session.execute(
        delete(Follow)
        .where(Follow.follower_id == follower_id, Follow.followee_id == target.id)
        .execution_options(synchronize_session=False)
    )
    return ProfileView(
        username=target.username, bio=target.bio, image=target.image, following=False
    )


async def _target(
    session: AsyncSession, *, username: str
) -> Row[uuid.UUID, str, str | None, str | None]:
    """The ``id``, ``username``, ``bio`` and ``image`` of ``username``; NotFoundError when there
    is no such user."""
    row = (
        await session.execute(
            select(User.id, User.username, Profile.bio, Profile.image)
            .outerjoin(Profile, Profile.user_id == User.id)
            .where(User.username == username)
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(SUBJECT)
    return row
