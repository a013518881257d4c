"""The profiles endpoints of the RealWorld API: read a profile, follow and unfollow; and the
profile search (``GET /profiles?q=``), beyond the spec."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import StringConstraints

from conduit.db import documents
from conduit.domain.profiles import service as profiles
from conduit.domain.profiles.service import ProfileView
from conduit.domain.users.models import USERNAME_MAX
from conduit.http import documents as written_by_database
from conduit.http.deps import (
    CurrentUser,
    OptionalToken,
    OptionalUser,
    SessionDep,
    checked_identity,
    read_for_token,
)
from conduit.http.documents import JSONText
from conduit.http.params import Limit, Offset, Responses
from conduit.http.routes import API_PREFIX, resource_router
from conduit.http.schemas.common import NON_BLANK_PATTERN, Trimmed
from conduit.http.schemas.profiles import MultipleProfilesResponse, Profile, ProfileResponse

router = resource_router(prefix=API_PREFIX, tags=["profiles"])

_NOT_FOUND: Responses = {404: {"description": "No user has this username"}}
_WRITE_ERRORS: Responses = {
    **_NOT_FOUND,
    422: {"description": "Following oneself"},
}
_SEARCH_INVALID: Responses = {
    422: {"description": "`q` missing, blank or too long, or a paging value out of range"}
}


def _profile_response(view: ProfileView) -> ProfileResponse:
    return ProfileResponse(profile=Profile.model_validate(view))


@router.get("/profiles", response_model=MultipleProfilesResponse, responses=_SEARCH_INVALID)
async def search_profiles(
    *,
    session: SessionDep,
    viewer: OptionalUser,
    q: Annotated[
        str,
        # A query longer than the longest username cannot match one.
        StringConstraints(max_length=USERNAME_MAX),
        Trimmed,
        Query(
            min_length=1,
            json_schema_extra={"pattern": NON_BLANK_PATTERN},
            description="Text anywhere in the username, any case (`%` and `_` match "
            "themselves); names starting with it come first, then alphabetically",
        ),
    ],
    limit: Limit = 20,
    offset: Offset = None,
) -> MultipleProfilesResponse:
    page = await profiles.search_profiles(
        session,
        query=q,
        viewer_id=viewer.id if viewer is not None else None,
        limit=limit,
        offset=offset or 0,
    )
    return MultipleProfilesResponse.of(page)


@router.get("/profiles/{username}", response_model=ProfileResponse, responses=_NOT_FOUND)
async def get_profile(
    username: str, token: OptionalToken, session: SessionDep
) -> ProfileResponse | JSONText:
    if documents.supported(session):
        return written_by_database.PROFILE_RESPONSE(
            profile=await read_for_token(
                session,
                token,
                profiles.get_profile_document,
                profiles.get_checked_profile_document,
                username=username,
                document=written_by_database.PROFILE,
            )
        )
    viewer = None if token is None else await checked_identity(session, token)
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
