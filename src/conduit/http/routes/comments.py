"""The comments endpoints of the RealWorld API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from conduit.domain.comments import service as comments
from conduit.http.deps import CurrentUser, OptionalUser, SessionDep
from conduit.http.params import NO_ARTICLE
from conduit.http.routes import API_PREFIX, resource_router
from conduit.http.schemas.comments import (
    MultipleCommentsResponse,
    NewCommentRequest,
    SingleCommentResponse,
)

router = resource_router(prefix=API_PREFIX, tags=["comments"])

# Comment ids are bigint identities; anything larger cannot exist (and would overflow the bind).
CommentId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "/articles/{slug}/comments", response_model=MultipleCommentsResponse, responses=NO_ARTICLE
)
async def list_comments(
    slug: str, session: SessionDep, viewer: OptionalUser
) -> MultipleCommentsResponse:
    views = await comments.list_for_article(
        session, slug=slug, viewer_id=viewer.id if viewer is not None else None
    )
    return MultipleCommentsResponse.of(views)


@router.post(
    "/articles/{slug}/comments",
    status_code=201,
    response_model=SingleCommentResponse,
    responses={**NO_ARTICLE, 422: {"description": "The body is blank or too long"}},
)
async def add_comment(
    slug: str, request: NewCommentRequest, session: SessionDep, user: CurrentUser
) -> SingleCommentResponse:
    view = await comments.create_comment(session, author=user, slug=slug, body=request.comment.body)
    return SingleCommentResponse.of(view)


@router.delete(
    "/articles/{slug}/comments/{id}",
    status_code=204,
    response_class=Response,
    responses={
        403: {"description": "The comment belongs to someone else"},
        404: {"description": "No live article has this slug, or no such comment on it"},
    },
)
async def delete_comment(
    slug: str,
    id: CommentId,  # the spec names the path parameter "id"
    session: SessionDep,
    user: CurrentUser,
) -> Response:
    await comments.delete_comment(session, actor=user, slug=slug, comment_id=id)
    return Response(status_code=204)
