"""Tokens and passwords: JWTs (PyJWT, HS256, pinned) and argon2id hashes (pwdlib).

Hashing and verifying cost tens of milliseconds of CPU each, so they run in a worker thread and
never block the event loop, and at most ``PASSWORD_HASH_CONCURRENCY`` at once, so that a flood
of logins queues for the hasher instead of taking every core from the requests that read.

A token carries its account's token version (``ver``); changing the password moves the version
on, so every token issued before no longer matches the account.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

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


T = TypeVar("T")


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired, or lacks a required claim."""


@dataclass(frozen=True, slots=True)
class TokenSubject:
    """Whom a valid token names, and the account's token version it was issued under."""

    user_id: uuid.UUID
    version: int


@dataclass(frozen=True, slots=True)
class TokenCodec:
    secret: str
    ttl: dt.timedelta

    def issue(self, user_id: uuid.UUID, *, version: int = 0, now: dt.datetime | None = None) -> str:
        issued = now or dt.datetime.now(dt.UTC)
        claims = {"sub": str(user_id), "ver": version, "iat": issued, "exp": issued + self.ttl}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def subject(self, token: str) -> TokenSubject:
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": _REQUIRED_CLAIMS}
            )
            # Tokens issued before versions existed carry none: version 0, every account's first.
            version = claims.get("ver", 0)
            if type(version) is not int or version < 0:
                raise InvalidToken("ver: not a token version")
            return TokenSubject(user_id=uuid.UUID(str(claims["sub"])), version=version)
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidToken(str(exc)) from None


class Passwords:
    """argon2id hashing and verifying, at most ``concurrency`` at once in this process."""

    def __init__(self, *, concurrency: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self.in_progress = 0
        self.waiting = 0
        #: The most hashes that ran at once since the process started.
        self.peak = 0

    async def hash(self, password: str) -> str:
        return await self._bounded(None, _passwords.hash, password)

    async def verify(
        self,
        password: str,
        password_hash: str | None,
        *,
        admit: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Check ``password``; with no hash (unknown user) spend the same time and return False.

        ``admit`` runs once a hashing slot is free, just before the hash, and may raise to refuse:
        a request that queued behind a flood is checked against the rate limits it was counted
        into meanwhile, instead of being hashed anyway.
        """
        if password_hash is None:
            await self._bounded(admit, _passwords.verify, password, _DUMMY_HASH)
            return False
        return await self._bounded(admit, _passwords.verify, password, password_hash)

    async def _bounded(
        self, admit: Callable[[], Awaitable[None]] | None, work: Callable[..., T], *args: str
    ) -> T:
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            if admit is not None:
                await admit()
            self.in_progress += 1
            self.peak = max(self.peak, self.in_progress)
            try:
                return await run_in_threadpool(work, *args)
            finally:
                self.in_progress -= 1
        finally:
            self._slots.release()
