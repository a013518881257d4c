"""The tags endpoint of the RealWorld API."""

from __future__ import annotations

from conduit.domain.tags import service as tags
from conduit.http.deps import SessionDep
from conduit.http.documents import Envelope, JSONText
from conduit.http.routes import API_PREFIX, resource_router
from conduit.http.schemas.tags import TagsResponse

router = resource_router(prefix=API_PREFIX, tags=["tags"])
# Written by pydantic-core's serializer straight from the names: the model's JSON, without
# building and validating a model of every tag per request.
_TAGS_RESPONSE = Envelope(TagsResponse)


@router.get("/tags", response_model=TagsResponse)
async def list_tags(session: SessionDep) -> JSONText:
    """Tags of live articles, sorted by name. No authentication: one statement."""
    return _TAGS_RESPONSE(tags=await tags.list_live(session))
