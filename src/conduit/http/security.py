"""Tokens and passwords: JWTs (PyJWT, HS256, pinned) and argon2id hashes (pwdlib).

Hashing and verifying cost tens of milliseconds of CPU each, so they run in a worker thread and
never block the event loop.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from starlette.concurrency import run_in_threadpool

ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "iat", "exp"]

_passwords = PasswordHash((Argon2Hasher(),))
# Verified against when the user does not exist, so a login for an unknown email costs as much
# as one with a wrong password and does not reveal which emails are registered.
_DUMMY_HASH = _passwords.hash("conduit-timing-equaliser")


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired, or lacks a required claim."""


@dataclass(frozen=True, slots=True)
class TokenCodec:
    secret: str
    ttl: dt.timedelta

    def issue(self, user_id: uuid.UUID, *, now: dt.datetime | None = None) -> str:
        issued = now or dt.datetime.now(dt.UTC)
        claims = {"sub": str(user_id), "iat": issued, "exp": issued + self.ttl}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def subject(self, token: str) -> uuid.UUID:
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": _REQUIRED_CLAIMS}
            )
            return uuid.UUID(str(claims["sub"]))
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidToken(str(exc)) from None


async def hash_password(password: str) -> str:
    return await run_in_threadpool(_passwords.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Check ``password``; with no hash (unknown user) spend the same time and return False."""
    if password_hash is None:
        await run_in_threadpool(_passwords.verify, password, _DUMMY_HASH)
        return False
    return await run_in_threadpool(_passwords.verify, password, password_hash)
