"""The articles endpoints of the RealWorld API: lists, the feed, CRUD and favorites."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from conduit.domain.articles import queries
from conduit.domain.articles import service as articles
from conduit.domain.articles.queries import ArticleFilter
from conduit.domain.errors import NotFoundError
from conduit.domain.tags.service import NAME_MAX
from conduit.http.deps import CurrentUser, OptionalUser, SessionDep
from conduit.http.routes import API_PREFIX
from conduit.http.schemas.articles import (
    MultipleArticlesResponse,
    NewArticleRequest,
    SingleArticleResponse,
    UpdateArticleRequest,
)

router = APIRouter(prefix=API_PREFIX, tags=["articles"])

LIMIT_MAX = 100
# Beyond this an OFFSET only burns database time (and overflows a bigint eventually).
OFFSET_MAX = 1_000_000_000
USERNAME_MAX = 64

Limit = Annotated[int, Query(ge=1, le=LIMIT_MAX, description="Page size (at most 100)")]
Offset = Annotated[int, Query(ge=0, le=OFFSET_MAX, description="Articles to skip")]

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired token"}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No live article has this slug"}
}
_WRITE: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORIZED,
    **_NOT_FOUND,
    403: {"description": "The article belongs to someone else"},
    422: {"description": "A field is blank, null or too long"},
}


@router.get("/articles", response_model=MultipleArticlesResponse)
async def list_articles(
    *,
    session: SessionDep,
    viewer: OptionalUser,
    tag: Annotated[str | None, Query(max_length=NAME_MAX)] = None,
    author: Annotated[str | None, Query(max_length=USERNAME_MAX)] = None,
    favorited: Annotated[str | None, Query(max_length=USERNAME_MAX)] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> MultipleArticlesResponse:
    page = await queries.list_articles(
        session,
        where=ArticleFilter(tag=tag, author=author, favorited=favorited),
        viewer_id=viewer.id if viewer is not None else None,
        limit=limit,
        offset=offset,
    )
    return MultipleArticlesResponse.of(page)


@router.get("/articles/feed", response_model=MultipleArticlesResponse, responses=_UNAUTHORIZED)
async def feed(
    session: SessionDep, user: CurrentUser, limit: Limit = 20, offset: Offset = 0
) -> MultipleArticlesResponse:
    page = await queries.feed(session, viewer_id=user.id, limit=limit, offset=offset)
    return MultipleArticlesResponse.of(page)


@router.post("/articles", status_code=201, response_model=SingleArticleResponse, responses=_WRITE)
async def create_article(
    request: NewArticleRequest, session: SessionDep, user: CurrentUser
) -> SingleArticleResponse:
    data = request.article
    view = await articles.create_article(
        session,
        author=user,
        title=data.title,
        description=data.description,
        body=data.body,
        tags=data.tag_list or (),
    )
    return SingleArticleResponse.of(view)


@router.get("/articles/{slug}", response_model=SingleArticleResponse, responses=_NOT_FOUND)
async def get_article(
    slug: str, session: SessionDep, viewer: OptionalUser
) -> SingleArticleResponse:
    view = await queries.get_article(
        session, slug=slug, viewer_id=viewer.id if viewer is not None else None
    )
    if view is None:
        raise NotFoundError(articles.SUBJECT)
    return SingleArticleResponse.of(view)


@router.put("/articles/{slug}", response_model=SingleArticleResponse, responses=_WRITE)
async def update_article(
    slug: str, request: UpdateArticleRequest, session: SessionDep, user: CurrentUser
) -> SingleArticleResponse:
    data = request.article
    changes = articles.ArticleChanges(
        title=data.title, description=data.description, body=data.body, tags=data.tag_list
    )
    view = await articles.update_article(session, actor=user, slug=slug, changes=changes)
    return SingleArticleResponse.of(view)


@router.delete("/articles/{slug}", status_code=204, response_class=Response, responses=_WRITE)
async def delete_article(slug: str, session: SessionDep, user: CurrentUser) -> Response:
    await articles.delete_article(session, actor=user, slug=slug)
    return Response(status_code=204)


@router.post(
    "/articles/{slug}/favorite",
    response_model=SingleArticleResponse,
    responses={**_UNAUTHORIZED, **_NOT_FOUND},
)
async def favorite(slug: str, session: SessionDep, user: CurrentUser) -> SingleArticleResponse:
    return SingleArticleResponse.of(await articles.favorite(session, user=user, slug=slug))


@router.delete(
    "/articles/{slug}/favorite",
    response_model=SingleArticleResponse,
    responses={**_UNAUTHORIZED, **_NOT_FOUND},
)
async def unfavorite(slug: str, session: SessionDep, user: CurrentUser) -> SingleArticleResponse:
    return SingleArticleResponse.of(await articles.unfavorite(session, user=user, slug=slug))
