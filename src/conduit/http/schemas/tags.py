"""Response body of the tags endpoint."""

from __future__ import annotations

from pydantic import BaseModel


class TagsResponse(BaseModel):
    tags: list[str]
