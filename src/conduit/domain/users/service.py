"""Accounts: registration, authentication, and the current user's own record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import User


@dataclass(frozen=True, slots=True)
class Identity:
    """The signed-in user, as every request needs it: one row, no ORM entity."""

    id: uuid.UUID
    email: str
    username: str
    role: str
    bio: str | None
    image: str | None


_IDENTITY_COLUMNS = (User.id, User.email, User.username, User.role, Profile.bio, Profile.image)


async def get_active_identity(session: AsyncSession, *, user_id: uuid.UUID) -> Identity | None:
    """The active user with ``user_id``, or None (unknown or deactivated): one statement."""
    row = (
        await session.execute(
            select(*_IDENTITY_COLUMNS)
            .outerjoin(Profile, Profile.user_id == User.id)
            .where(User.id == user_id, User.is_active.is_(True))
        )
    ).one_or_none()
    return Identity(*row) if row is not None else None
