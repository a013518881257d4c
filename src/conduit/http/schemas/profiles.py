"""Response bodies of the profiles endpoints; ``Profile`` is also every article's author."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
