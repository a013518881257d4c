"""Accounts: registration, authentication, and the current user's own record.

Uniqueness of email and username is left to the database's unique constraints: a check before
the insert would still race with a concurrent registration, while the constraint cannot. The
write itself is guarded (``ON CONFLICT DO NOTHING`` on sign-up, ``NOT EXISTS`` on update), so a
refused write costs one more statement, which finds every taken field: :class:`TakenError`
renders as 409 ``{"errors": {"email": [...], "username": ["has already been taken"]}}``. An
update racing another past its guard still meets the constraint, whose violation surfaces as
``conduit.db.errors.Conflict`` naming it (``uq_users_email``) and the one field it protects.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    exists,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from conduit.db.dialect import dialect_insert, is_mysql, matched
from conduit.db.documents import DOCUMENT
from conduit.db.model import CompactUuid, uuid7
from conduit.domain.errors import ConflictError, DomainError, NotFoundError, TakenError
from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import Role, User
from conduit.domain.viewer import VIEWER, viewer_param


@dataclass(frozen=True, slots=True)
class Identity:
    """The signed-in user, as every request needs it: one row, no ORM entity."""

    id: uuid.UUID
    email: str
    username: str
    role: str
    bio: str | None
    image: str | None
    # Moves on with every password change; tokens carry the version they were issued under.
    token_version: int = 0


@dataclass(frozen=True, slots=True)
class Credentials:
    """An active account found by email, with the hash its password must match."""

    identity: Identity
    password_hash: str


class Keep(Enum):
    """Marks a field an update leaves alone (``None`` is a value: it clears bio and image)."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountChanges:
    email: str | Keep = KEEP
    username: str | Keep = KEEP
    password_hash: str | Keep = KEEP
    bio: str | Keep | None = KEEP
    image: str | Keep | None = KEEP


_IDENTITY_COLUMNS = (
    User.id,
    User.email,
    User.username,
    User.role,
    Profile.bio,
    Profile.image,
    User.token_version,
)


_IDENTITY_FIELDS = tuple(field.name for field in dataclasses.fields(Identity))


def _identity(row: Any) -> Identity:
    """The identity in a row of ``_IDENTITY_COLUMNS``, which are named for its fields."""
    values = row._mapping
    return Identity(**{name: values[name] for name in _IDENTITY_FIELDS})


_ISSUED_VERSION = "token_version"


def _active_at_version(user_id: ColumnElement[uuid.UUID]) -> tuple[ColumnElement[bool], ...]:
    """``user_id`` is an active account whose tokens are at ``:token_version``."""
    return (
        User.id == user_id,
        User.token_version == bindparam(_ISSUED_VERSION, type_=Integer()),
        User.is_active.is_(True),
    )


def _account_active(user_id: ColumnElement[uuid.UUID]) -> ColumnElement[bool]:
    """The check of :func:`get_active_identity` as an expression, for a read to carry in its
    own statement (``:token_version`` bound when it runs) instead of sending it as one more."""
    return exists().where(*_active_at_version(user_id))


_ACCOUNT_ACTIVE = "account_active"


@functools.lru_cache(maxsize=16)
def _checking_account(read: Select[Any]) -> Select[Any]:
    # One row always: whether the reader's account is active, and the document or NULL.
    return select(
        _account_active(viewer_param()).label(_ACCOUNT_ACTIVE),
        read.scalar_subquery().label(DOCUMENT),
    )


async def read_checking_account(
    session: AsyncSession,
    read: Select[Any],
    parameters: dict[str, Any],
    *,
    reader_id: uuid.UUID,
    token_version: int,
) -> tuple[bool, str | None]:
    """Run ``read`` (a built-once statement of one document column and at most one row, for
    the viewer ``:viewer_id``) with the check of :func:`get_active_identity` on the reader in
    the same statement: whether the account is active at ``token_version``, and then the
    document, if any. One statement where the check and the read would be two."""
    connection = await session.connection()
    row = (
        await connection.execute(
            _checking_account(read),
            {**parameters, VIEWER: reader_id, _ISSUED_VERSION: token_version},
        )
    ).one()
    active, document = row
    return bool(active), (str(document) if active and document is not None else None)


# Every authenticated request runs this: built once, the id and version bound when it runs.
_ACTIVE_IDENTITY = (
    select(*_IDENTITY_COLUMNS)
    .outerjoin(Profile, Profile.user_id == User.id)
    .where(*_active_at_version(bindparam("user_id", type_=CompactUuid())))
)


async def get_active_identity(
    session: AsyncSession, *, user_id: uuid.UUID, token_version: int
) -> Identity | None:
    """The active user with ``user_id`` whose tokens are at ``token_version``, or None.

    None when the account is unknown, deactivated, or changed its password after the token was
    issued: one statement either way.
    """
    connection = await session.connection()
    row = (
        await connection.execute(
            _ACTIVE_IDENTITY, {"user_id": user_id, _ISSUED_VERSION: token_version}
        )
    ).one_or_none()
    return _identity(row) if row is not None else None


async def find_credentials(session: AsyncSession, *, email: str) -> Credentials | None:
    """The active account registered under ``email``, or None: one statement.

    A deactivated account is not found, so it cannot sign in.
    """
    row = (
        await session.execute(
            select(*_IDENTITY_COLUMNS, User.password_hash)
            .outerjoin(Profile, Profile.user_id == User.id)
            .where(User.email == email, User.is_active.is_(True))
        )
    ).one_or_none()
    if row is None:
        return None
    return Credentials(identity=_identity(row), password_hash=row.password_hash)


async def register(
    session: AsyncSession, *, username: str, email: str, password_hash: str, credits: int
) -> Identity:
    """Create an account and its empty profile: two statements.

    A taken username or email raises :class:`TakenError` naming each, after one more statement.
    """
    user_id = uuid7()
    inserted = await session.execute(
        dialect_insert(session, User)
        .values(
            id=user_id,
            username=username,
            email=email,
            password_hash=password_hash,
            role=Role.USER.value,
            is_active=True,
            credits=credits,
        )
        .on_conflict_do_nothing()
        .returning(User.id)
    )
    if inserted.first() is None:
        raise await _taken(session, email=email, username=username)
    await session.execute(insert(Profile).values(user_id=user_id, bio=None, image=None))
    return Identity(
        id=user_id, email=email, username=username, role=Role.USER.value, bio=None, image=None
    )


async def update_account(
    session: AsyncSession, *, identity: Identity, changes: AccountChanges
) -> Identity:
    """Apply ``changes`` to the signed-in account and return it as it now is.

    At most two statements: one UPDATE of ``users`` when email, username or password change, one
    upsert of ``profiles`` when bio or image change. Values equal to the current ones are not
    written, so re-sending one's own email is never a conflict and an empty update is free. A
    taken email or username raises :class:`TakenError` naming each, after one more statement.

    A new password moves the token version on, which ends every token issued before; the
    returned identity carries the new version, for the token that replaces them.
    """
    account: dict[str, Any] = {}
    if changes.email is not KEEP and changes.email != identity.email:
        account["email"] = changes.email
    if changes.username is not KEEP and changes.username != identity.username:
        account["username"] = changes.username
    version = identity.token_version
    if changes.password_hash is not KEEP:
        account["password_hash"] = changes.password_hash
        version += 1
    profile: dict[str, Any] = {}
    if changes.bio is not KEEP and changes.bio != identity.bio:
        profile["bio"] = changes.bio
    if changes.image is not KEEP and changes.image != identity.image:
        profile["image"] = changes.image

    if account:
        # The version moves on in the statement itself, from the row's own value.
        bump = (
            {"token_version": User.token_version + 1} if version != identity.token_version else {}
        )
        # Guarded: a taken email or username updates no row, and nothing is aborted.
        email, username = account.get("email"), account.get("username")
        claims = _claims(aliased(User), email=email, username=username)
        updated = await matched(
            session,
            update(User)
            .where(User.id == identity.id, _unclaimed(session, claims) if claims else true())
            .values(**account, **bump)
            .execution_options(synchronize_session=False),
        )
        if updated == 0 and claims:
            raise await _taken(session, email=email, username=username)
    if profile:
        # An upsert rather than an UPDATE: an account created outside the API without a
        # profile row still gets its bio saved instead of silently losing it.
        upsert = dialect_insert(session, Profile).values(user_id=identity.id, **profile)
        await session.execute(
            upsert.on_conflict_do_update(index_elements=[Profile.user_id], set_=profile)
        )
    visible = {
        key: value for key, value in {**account, **profile}.items() if key != "password_hash"
    }
    return dataclasses.replace(identity, **visible, token_version=version)


def _unclaimed(session: AsyncSession, claims: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """No other account matches ``claims``, a condition for an UPDATE of ``users``.

    MySQL refuses a subquery on the table an UPDATE changes (error 1093) unless it reads a
    derived table, which it materialises first.
    """
    if is_mysql(session):
        taken = select(literal(1)).where(or_(*claims)).subquery("taken")
        return ~exists().select_from(taken)
    return ~exists().where(or_(*claims))


def _claims(
    entity: type[User], *, email: str | None, username: str | None
) -> list[ColumnElement[bool]]:
    """Conditions on ``entity`` matching an account that holds the given email or username."""
    claims: list[ColumnElement[bool]] = []
    if email is not None:
        claims.append(entity.email == email)
    if username is not None:
        claims.append(entity.username == username)
    return claims


async def _taken(session: AsyncSession, *, email: str | None, username: str | None) -> DomainError:
    """The error for a refused write: which of ``email`` and ``username`` are taken, one SELECT.

    Accounts are never deleted, so the row that refused the write is still there to be found.
    """
    claims = _claims(User, email=email, username=username)
    rows = (await session.execute(select(User.email, User.username).where(or_(*claims)))).all()
    taken = [
        field
        for field, value, held in (
            ("email", email, {row.email for row in rows}),
            ("username", username, {row.username for row in rows}),
        )
        if value is not None and value in held
    ]
    if not taken:  # neither: only the new row's id can have collided, and a retry draws another
        return ConflictError("user", "was changed concurrently, please retry")
    return TakenError(*taken)


async def set_role(session: AsyncSession, *, username: str, role: Role) -> str:
    """Give ``username`` the role ``role``; return the role it had (NotFoundError if unknown).

    The row is locked, so the role reported as replaced is the one this call replaced, even
    when two changes to one account run at once.
    """
    previous = (
        await session.execute(select(User.role).where(User.username == username).with_for_update())
    ).scalar_one_or_none()
    if previous is None:
        raise NotFoundError("user")
    if previous != role:
        await session.execute(update(User).where(User.username == username).values(role=role.value))
    return previous
