"""The profiles endpoints of the RealWorld API: read a profile, follow and unfollow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from conduit.domain.profiles import service as profiles
from conduit.domain.profiles.service import ProfileView
from conduit.http.deps import CurrentUser, OptionalUser, SessionDep
from conduit.http.routes import API_PREFIX
from conduit.http.schemas.profiles import Profile, ProfileResponse

router = APIRouter(prefix=API_PREFIX, tags=["profiles"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No user has this username"}}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    401: {"description": "Missing, invalid or expired token"},
    422: {"description": "Following oneself"},
}


def _profile_response(view: ProfileView) -> ProfileResponse:
    return ProfileResponse(profile=Profile.model_validate(view))


@router.get("/profiles/{username}", response_model=ProfileResponse, responses=_NOT_FOUND)
async def get_profile(username: str, viewer: OptionalUser, session: SessionDep) -> ProfileResponse:
    view = await profiles.get_profile(
        session, username=username, viewer_id=viewer.id if viewer is not None else None
    )
    return _profile_response(view)


@router.post("/profiles/{username}/follow", response_model=ProfileResponse, responses=_WRITE_ERRORS)
async def follow(username: str, user: CurrentUser, session: SessionDep) -> ProfileResponse:
    # Any request body (some clients send one) is ignored.
    view = await profiles.follow(session, follower_id=user.id, username=username)
    return _profile_response(view)


@router.delete(
    "/profiles/{username}/follow", response_model=ProfileResponse, responses=_WRITE_ERRORS
)
async def unfollow(username: str, user: CurrentUser, session: SessionDep) -> ProfileResponse:
    view = await profiles.unfollow(session, follower_id=user.id, username=username)
    return _profile_response(view)
