"""Small factories for test data that goes straight to the database (no HTTP round trip)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from fastapi import FastAPI

from conduit.db.session import Database
from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import User
from conduit.http.security import TokenCodec

# argon2id of "password"; hashing once keeps factories fast.
PASSWORD = "password"
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$cqmroNpC2EgjrsX+cc79wA$VLBoydlxHF005nyfaHm4KodT3VI1BDIjPCd9NaHyCOU"  # noqa: E501 - a hash reads best whole
_sequence = itertools.count(1)


@dataclass(frozen=True, slots=True)
class MadeUser:
    user: User
    token: str

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


async def make_user(
    app: FastAPI,
    *,
    username: str | None = None,
    email: str | None = None,
    role: str = "user",
    credits: int = 100,
    is_active: bool = True,
    bio: str | None = None,
    image: str | None = None,
) -> MadeUser:
    """Insert a user (with profile) and return it with a valid token."""
    n = next(_sequence)
    username = username or f"user{n}"
    database: Database = app.state.database
    tokens: TokenCodec = app.state.tokens
    async with database.unit_of_work() as session:
        user = User(
            email=email or f"{username}@example.com",
            username=username,
            password_hash=PASSWORD_HASH,
            role=role,
            credits=credits,
            is_active=is_active,
        )
        session.add(user)
        await session.flush()
        session.add(Profile(user_id=user.id, bio=bio, image=image))
    return MadeUser(user=user, token=tokens.issue(user.id))
