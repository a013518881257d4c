"""The users endpoints of the RealWorld API: register, log in, read and update oneself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from conduit.domain.errors import UnauthorizedError
from conduit.domain.users import service as users
from conduit.domain.users.service import KEEP, AccountChanges, Identity
from conduit.http.deps import (
    CurrentUser,
    DatabaseDep,
    SessionDep,
    SettingsDep,
    TokensDep,
    request_token,
)
from conduit.http.routes import API_PREFIX
from conduit.http.schemas.users import (
    LoginRequest,
    NewUserRequest,
    UpdateUserRequest,
    User,
    UserResponse,
)
from conduit.http.security import hash_password, verify_password

router = APIRouter(prefix=API_PREFIX, tags=["users"])

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired token"}
}


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


@router.post(
    "/users/login",
    response_model=UserResponse,
    responses={
        401: {"description": "Wrong email or password"},
        429: {"description": "Too many failed logins for this account or from this address"},
    },
)
async def login(body: LoginRequest, database: DatabaseDep, tokens: TokensDep) -> UserResponse:
    # A unit of work of its own, closed before the password check: verifying an argon2 hash
    # takes tens of milliseconds, and a pooled connection should not wait on it.
    async with database.unit_of_work() as session:
        found = await users.find_credentials(session, email=body.user.email)
    # An unknown email is checked against a dummy hash, so both failures take as long.
    verified = await verify_password(body.user.password, found.password_hash if found else None)
    if found is None or not verified:
        raise UnauthorizedError("credentials", "invalid")
    return _user_response(found.identity, tokens.issue(found.identity.id))


@router.post(
    "/users",
    status_code=201,
    response_model=UserResponse,
    responses={
        409: {"description": "Username or email already taken"},
        429: {"description": "Too many registrations from this address"},
    },
)
async def register(
    body: NewUserRequest, session: SessionDep, tokens: TokensDep, settings: SettingsDep
) -> UserResponse:
    new = body.user
    # Hashed before the first statement, so no connection is held while argon2 works.
    password_hash = await hash_password(new.password)
    identity = await users.register(
        session,
        username=new.username,
        email=new.email,
        password_hash=password_hash,
        credits=settings.initial_credits,
    )
    return _user_response(identity, tokens.issue(identity.id))


@router.get("/user", response_model=UserResponse, responses=_UNAUTHORIZED)
async def current(user: CurrentUser, request: Request) -> UserResponse:
    # Authentication already loaded everything the response needs.
    return _user_response(user, request_token(request))


@router.put(
    "/user",
    response_model=UserResponse,
    responses={**_UNAUTHORIZED, 409: {"description": "Username or email already taken"}},
)
async def update(
    body: UpdateUserRequest, user: CurrentUser, session: SessionDep, request: Request
) -> UserResponse:
    data = body.user
    sent = data.model_fields_set
    # The schema turns an explicit null for these three into 422, so None means "not sent".
    changes = AccountChanges(
        email=data.email if data.email is not None else KEEP,
        username=data.username if data.username is not None else KEEP,
        password_hash=await hash_password(data.password) if data.password is not None else KEEP,
        bio=data.bio if "bio" in sent else KEEP,
        image=data.image if "image" in sent else KEEP,
    )
    updated = await users.update_account(session, identity=user, changes=changes)
    return _user_response(updated, request_token(request))
