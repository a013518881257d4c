"""Annotated dependencies: the unit of work, the settings, and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.session import Database, commit_position, read_target
from conduit.domain.users.models import Role
from conduit.domain.users.service import Identity, get_active_identity
from conduit.http import read_after
from conduit.http.errors import ApiError
from conduit.http.observability import RequestMetrics
from conduit.http.ratelimit import AbuseLimits
from conduit.http.security import InvalidToken, Passwords, TokenCodec, TokenSubject
from conduit.settings import Settings

_SCHEMES = ("token", "bearer")
_Found = TypeVar("_Found")


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_tokens(request: Request) -> TokenCodec:
    tokens: TokenCodec = request.app.state.tokens
    return tokens


async def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


async def get_abuse_limits(request: Request) -> AbuseLimits:
    abuse_limits: AbuseLimits = request.app.state.abuse_limits
    return abuse_limits


# Safe methods never write (RFC 9110 section 9.2.1): their requests read without a transaction.
_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # scope="function" (below) ends the unit of work when the endpoint returns, so the commit
    # happens - and can fail - before the response is sent.
    database: Database = request.app.state.database
    share = _route_share(request)
    if request.method in _READ_ONLY_METHODS:
        after = read_after.requested(request) if database.replicas is not None else None
        async with database.reader(share=share, after=after) as session:
            # getattr: an app of another's making that only sets state.database works too.
            metrics: RequestMetrics | None = getattr(request.app.state, "metrics", None)
            if metrics is not None:
                metrics.observe_read(read_target(session))
            yield session
    else:
        async with database.unit_of_work(share=share, note_position=True) as session:
            yield session
        read_after.note(request, commit_position(session))


def _route_share(request: Request) -> str | None:
    """Each route's own share of the pool: a route stalled on a lock leaves the rest free."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return f"{request.method} {path}" if isinstance(path, str) else None


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TokensDep = Annotated[TokenCodec, Depends(get_tokens)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
AbuseLimitsDep = Annotated[AbuseLimits, Depends(get_abuse_limits)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Token <jwt>`` (or ``Bearer <jwt>``), if any."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in _SCHEMES or not token.strip():
        raise invalid_token()
    return token.strip()


def invalid_token() -> ApiError:
    """The answer to a token that is malformed, expired, or names no active account at its
    version."""
    return ApiError(401, "token", "is invalid", headers={"WWW-Authenticate": "Token"})


def _subject(tokens: TokenCodec, token: str) -> TokenSubject:
    try:
        return tokens.subject(token)
    except InvalidToken:
        raise invalid_token() from None


async def checked_identity(session: AsyncSession, subject: TokenSubject) -> Identity:
    """The active account a valid token names, or 401: one statement."""
    identity = await get_active_identity(
        session, user_id=subject.user_id, token_version=subject.version
    )
    if identity is None:
        raise invalid_token()
    return identity


async def current_user(request: Request, session: SessionDep, tokens: TokensDep) -> Identity:
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "token", "is missing", headers={"WWW-Authenticate": "Token"})
    return await checked_identity(session, _subject(tokens, token))


async def optional_token(request: Request, tokens: TokensDep) -> TokenSubject | None:
    """Whom the request's token names, if it has one, its account not yet checked: for a read
    that checks the account in its own statement (answering :func:`invalid_token` when the
    check fails) or through :func:`checked_identity`."""
    token = bearer_token(request)
    return None if token is None else _subject(tokens, token)


OptionalToken = Annotated[TokenSubject | None, Depends(optional_token)]


async def read_for_token(
    session: AsyncSession,
    token: TokenSubject | None,
    read: Callable[..., Awaitable[_Found]],
    read_checking: Callable[..., Awaitable[tuple[bool, _Found]]],
    **parameters: Any,
) -> _Found:
    """What a read finds for whoever holds ``token``: without one, ``read`` for no viewer; with
    one, ``read_checking``, which checks the token's account (``reader_id``,
    ``token_version``) in its own statement and reports it first: 401 when the account is not
    active at the token's version."""
    if token is None:
        return await read(session, viewer_id=None, **parameters)
    active, found = await read_checking(
        session, reader_id=token.user_id, token_version=token.version, **parameters
    )
    if not active:
        raise invalid_token()
    return found


async def optional_user(session: SessionDep, subject: OptionalToken) -> Identity | None:
    return None if subject is None else await checked_identity(session, subject)


def request_token(request: Request) -> str:
    """The raw token of the current request (RealWorld echoes it back in user responses)."""
    return bearer_token(request) or ""


CurrentUser = Annotated[Identity, Depends(current_user)]
OptionalUser = Annotated[Identity | None, Depends(optional_user)]


async def admin_user(user: CurrentUser) -> Identity:
    """The signed-in user if an admin, else 403.

    The role is read with the identity on every request, so a demoted admin loses access at once.
    """
    if user.role != Role.ADMIN.value:
        raise ApiError(403, "user", "forbidden")
    return user


AdminUser = Annotated[Identity, Depends(admin_user)]
