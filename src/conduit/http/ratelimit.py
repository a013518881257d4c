"""Abuse limits: failed logins per account and per client address, registrations per address.

Counted in moving windows by the ``limits`` library, in this process's memory by default, or in
Redis (``RATE_LIMIT_STORAGE_URL=redis://...``) so that every process behind one load balancer
draws on one budget. A request over a limit gets 429 with ``Retry-After``, before any password
is hashed. When Redis cannot be reached the limits are not enforced (logged as a warning):
a broken limiter must not lock every user out.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import limits
from fastapi import Request
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool

from conduit.http.errors import ApiError
from conduit.settings import Settings

logger = logging.getLogger(__name__)

# Seconds a Redis round trip may take before the limiter gives up on it (and lets the request
# through): a slow Redis must not hold logins for long.
REDIS_TIMEOUT_S = 1.0


class Throttled(ApiError):
    """429: too many attempts; ``Retry-After`` says when the oldest one leaves the window."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "request",
            f"too many attempts, retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(frozen=True, slots=True)
class _Limit:
    name: str
    item: limits.RateLimitItem


class AbuseLimits:
    """The login and registration budgets of one process (shared through Redis when set)."""

    def __init__(
        self,
        *,
        storage: Storage,
        login_account: str,
        login_address: str,
        register_address: str,
        enabled: bool = True,
        pool: ConnectionPool | None = None,
    ) -> None:
        self._pool = pool
        self._windows = MovingWindowRateLimiter(storage)
        self._login_account = _Limit("login-account", limits.parse(login_account))
        self._login_address = _Limit("login-address", limits.parse(login_address))
        self._register_address = _Limit("register-address", limits.parse(register_address))
        self.enabled = enabled

    @classmethod
    def from_settings(cls, settings: Settings) -> AbuseLimits:
        url = settings.rate_limit_storage_url
        pool: ConnectionPool | None = None
        storage: Storage
        if url.startswith("memory://"):
            storage = MemoryStorage()
        else:
            # A pool of our own, so that stopping the app closes its connections.
            pool = ConnectionPool.from_url(
                url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
            )
            storage = RedisStorage(
                f"async+{url}",
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=settings.rate_limit_key_prefix,
                connection_pool=pool,  # type: ignore[arg-type]  # passed through to redis.asyncio.Redis
            )
        return cls(
            storage=storage,
            login_account=settings.rate_limit_login_account,
            login_address=settings.rate_limit_login_address,
            register_address=settings.rate_limit_register_address,
            enabled=settings.rate_limit_enabled,
            pool=pool,
        )

    async def check_login(self, *, email: str, address: str) -> None:
        """Raise :class:`Throttled` when the account or the address has no failed login left."""
        await self._refuse_if_spent(
            (self._login_account, _account(email)), (self._login_address, address)
        )

    async def failed_login(self, *, email: str, address: str) -> None:
        """Count a failed login against the account and the address."""
        if not self.enabled:
            return
        try:
            await self._windows.hit(
                self._login_account.item, self._login_account.name, _account(email)
            )
            await self._windows.hit(self._login_address.item, self._login_address.name, address)
        except StorageError as exc:
            logger.warning("rate limits not counted: %s", exc.storage_error)

    async def register(self, *, address: str) -> None:
        """Count a registration attempt from ``address``; :class:`Throttled` when over budget."""
        if not self.enabled:
            return
        limit = self._register_address
        try:
            if await self._windows.hit(limit.item, limit.name, address):
                return
            retry_after = await self._retry_after(limit, address)
        except StorageError as exc:
            logger.warning("rate limits not checked: %s", exc.storage_error)
            return
        raise Throttled(retry_after)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def _refuse_if_spent(self, *checks: tuple[_Limit, str]) -> None:
        if not self.enabled:
            return
        try:
            for limit, key in checks:
                if not await self._windows.test(limit.item, limit.name, key):
                    retry_after = await self._retry_after(limit, key)
                    break
            else:
                return
        except StorageError as exc:
            logger.warning("rate limits not checked: %s", exc.storage_error)
            return
        raise Throttled(retry_after)

    async def _retry_after(self, limit: _Limit, key: str) -> int:
        stats = await self._windows.get_window_stats(limit.item, limit.name, key)
        return max(1, math.ceil(stats.reset_time - time.time()))


def _account(email: str) -> str:
    # Case variants of one address count as one account: an attacker gains nothing by them.
    return email.strip().lower()


def client_address(request: Request) -> str:
    """The caller's address: the peer, or the forwarded one when the peer is a trusted proxy.

    ``conduit serve`` has uvicorn rewrite the client from ``X-Forwarded-For`` only for peers in
    ``FORWARDED_ALLOW_IPS``, so a client cannot choose its own address here.
    """
    return request.client.host if request.client else "unknown"
