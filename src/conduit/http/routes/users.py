"""The users endpoints of the RealWorld API: register, log in, read and update oneself."""

from __future__ import annotations

from fastapi import Request

from conduit.domain.errors import UnauthorizedError
from conduit.domain.users import service as users
from conduit.domain.users.service import KEEP, AccountChanges, Identity
from conduit.http.deps import (
    AbuseLimitsDep,
    CurrentUser,
    DatabaseDep,
    PasswordsDep,
    SessionDep,
    SettingsDep,
    TokensDep,
    request_token,
)
from conduit.http.params import TAKEN
from conduit.http.ratelimit import client_address
from conduit.http.routes import API_PREFIX, resource_router
from conduit.http.schemas.users import (
    LoginRequest,
    NewUserRequest,
    UpdateUserRequest,
    User,
    UserResponse,
)
from conduit.http.security import TokenCodec

router = resource_router(prefix=API_PREFIX, tags=["users"])


def _user_response(identity: Identity, token: str) -> UserResponse:
    return UserResponse(
        user=User(
            email=identity.email,
            token=token,
            username=identity.username,
            bio=identity.bio,
            image=identity.image,
        )
    )


def _issue(tokens: TokenCodec, identity: Identity) -> str:
    return tokens.issue(identity.id, version=identity.token_version)


@router.post(
    "/users/login",
    response_model=UserResponse,
    responses={
        401: {"description": "Wrong email or password"},
        429: {"description": "Too many failed logins for this account or from this address"},
    },
)
async def login(
    body: LoginRequest,
    request: Request,
    *,
    database: DatabaseDep,
    tokens: TokensDep,
    passwords: PasswordsDep,
    abuse_limits: AbuseLimitsDep,
) -> UserResponse:
    email, address = body.user.email, client_address(request)

    async def admit() -> None:
        await abuse_limits.check_login(email=email, address=address)

    await admit()
    # A unit of work of its own, closed before the password check: verifying an argon2 hash
    # takes tens of milliseconds, and a pooled connection should not wait on it.
    async with database.unit_of_work() as session:
        found = await users.find_credentials(session, email=email)
    # An unknown email is checked against a dummy hash, so both failures take as long. The
    # limits are checked again once the hasher is free: failures counted while this request
    # queued for it may have used the budget up.
    verified = await passwords.verify(
        body.user.password, found.password_hash if found else None, admit=admit
    )
    if found is None or not verified:
        await abuse_limits.failed_login(email=email, address=address)
        raise UnauthorizedError("credentials", "invalid")
    return _user_response(found.identity, _issue(tokens, found.identity))


@router.post(
    "/users",
    status_code=201,
    response_model=UserResponse,
    responses={
        **TAKEN,
        429: {"description": "Too many registrations from this address"},
    },
)
async def register(
    body: NewUserRequest,
    request: Request,
    *,
    session: SessionDep,
    tokens: TokensDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    abuse_limits: AbuseLimitsDep,
) -> UserResponse:
    new = body.user
    await abuse_limits.register(address=client_address(request))
    # Hashed before the first statement, so no connection is held while argon2 works.
    password_hash = await passwords.hash(new.password)
    identity = await users.register(
        session,
        username=new.username,
        email=new.email,
        password_hash=password_hash,
        credits=settings.initial_credits,
    )
    return _user_response(identity, _issue(tokens, identity))


@router.get("/user", response_model=UserResponse)
async def current(user: CurrentUser, request: Request) -> UserResponse:
    # Authentication already loaded everything the response needs.
    return _user_response(user, request_token(request))


@router.put(
    "/user",
    response_model=UserResponse,
    responses=TAKEN,
)
async def update(
    body: UpdateUserRequest,
    user: CurrentUser,
    *,
    session: SessionDep,
    request: Request,
    tokens: TokensDep,
    passwords: PasswordsDep,
) -> UserResponse:
    data = body.user
    sent = data.model_fields_set
    # The schema turns an explicit null for these three into 422, so None means "not sent".
    changes = AccountChanges(
        email=data.email if data.email is not None else KEEP,
        username=data.username if data.username is not None else KEEP,
        password_hash=await passwords.hash(data.password) if data.password is not None else KEEP,
        bio=data.bio if "bio" in sent else KEEP,
        image=data.image if "image" in sent else KEEP,
    )
    updated = await users.update_account(session, identity=user, changes=changes)
    # A new password ends the tokens issued before it, this request's own too: answer with one
    # issued under the new version.
    if updated.token_version != user.token_version:
        return _user_response(updated, _issue(tokens, updated))
    return _user_response(updated, request_token(request))
