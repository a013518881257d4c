"""Response bodies of the profiles endpoints; ``Profile`` is also every article's author."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from conduit.domain.profiles.service import ProfilePage
from conduit.http.schemas.common import ResponseModel


class Profile(BaseModel):
    # Validated straight from the domain's ProfileView dataclass, by attribute, also when
    # nested in another response model.
    model_config = ConfigDict(from_attributes=True)

    username: str
    bio: str | None
    image: str | None
    following: bool


class ProfileResponse(BaseModel):
    profile: Profile


class MultipleProfilesResponse(ResponseModel):
    """A page of the profile search, and the number of profiles matching in all."""

    profiles: list[Profile]
    profiles_count: int

    @classmethod
    def of(cls, page: ProfilePage) -> MultipleProfilesResponse:
        return cls.model_validate(page, from_attributes=True)
