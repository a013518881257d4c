"""The tags endpoint of the RealWorld API."""

from __future__ import annotations

from conduit.domain.tags import service as tags
from conduit.http.deps import SessionDep
from conduit.http.routes import API_PREFIX, resource_router
from conduit.http.schemas.tags import TagsResponse

router = resource_router(prefix=API_PREFIX, tags=["tags"])


@router.get("/tags", response_model=TagsResponse)
async def list_tags(session: SessionDep) -> TagsResponse:
    """Tags of live articles, sorted by name. No authentication: one statement."""
    return TagsResponse(tags=await tags.list_live(session))
