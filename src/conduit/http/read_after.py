"""Read-your-writes across read replicas: the ``Conduit-Read-After`` header and cookie.

With replicas, the response to a request that committed carries the primary's WAL position after
that commit, as the ``Conduit-Read-After`` header and as a cookie. A read that sends it back (the
header, or the cookie a browser sends by itself) is served by a replica only once that replica
has replayed that far, and by the primary until then, so a client always sees its own writes.
On one server there is nothing to wait for: no header, no cookie, and a position sent is ignored.
"""

from __future__ import annotations

import math

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.db.replicas import WalPosition, format_position, parse_position
from conduit.http.errors import ApiError

HEADER = "Conduit-Read-After"
COOKIE = "conduit_read_after"
_SCOPE_KEY = "conduit.read_after"
# The cookie outlives any wait worth making: past the replicas' lag limit (and a check or two),
# a replica still behind the position is out of the rotation anyway.
_MIN_COOKIE_MAX_AGE_S = 60


class _Committed:
    __slots__ = ("position",)

    def __init__(self) -> None:
        self.position: WalPosition | None = None


class ReadAfter:
    """Adds the header and the cookie to the response of a request whose commit noted a position."""

    def __init__(self, app: ASGIApp, *, max_lag_ms: int, check_interval_s: float) -> None:
        self.app = app
        self.cookie_max_age_s = max(
            _MIN_COOKIE_MAX_AGE_S, math.ceil(max_lag_ms / 1000 + 2 * check_interval_s)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        committed = scope[_SCOPE_KEY] = _Committed()

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start" and committed.position is not None:
                value = format_position(committed.position)
                cookie = f"{COOKIE}={value}; Max-Age={self.cookie_max_age_s}; Path=/; SameSite=Lax"
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (HEADER.lower().encode(), value.encode()),
                        (b"set-cookie", f"{cookie}; HttpOnly".encode()),
                    ],
                }
            await send(message)

        await self.app(scope, receive, send_with_position)


def requested(request: Request) -> WalPosition | None:
    """The position a read must see: the later of the header's and the cookie's.

    A malformed header is the client's mistake (400); a malformed cookie is ignored, since the
    client cannot fix what the browser keeps.
    """
    positions = []
    header = request.headers.get(HEADER)
    if header is not None:
        try:
            positions.append(parse_position(header))
        except ValueError:
            raise ApiError(400, HEADER, "is not a WAL position such as 0/16B3748") from None
    cookie = _cookie(request)
    if cookie is not None:
        positions.append(cookie)
    return max(positions, default=None)


def _cookie(request: Request) -> WalPosition | None:
    value = request.cookies.get(COOKIE)
    if value is None:
        return None
    try:
        return parse_position(value)
    except ValueError:
        return None


def note(request: Request, position: WalPosition | None) -> None:
    """Send ``position`` (the request's commit) back with the response, when there is one."""
    committed = request.scope.get(_SCOPE_KEY)
    if position is not None and isinstance(committed, _Committed):
        committed.position = position
