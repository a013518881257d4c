"""The articles endpoints of the RealWorld API: lists, the feed, CRUD and favorites.

Lists and the feed page two ways. ``limit``/``offset`` as the spec has it; and ``cursor``: every
list response carries ``nextCursor`` (null on the last page), and passing it back continues
right after the last article shown, however many were published since and however deep the
page (see :mod:`conduit.db.pagination`). A cursor is bound to the filters it was issued for:
with other filters, or altered in any way, it is refused as invalid.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import StringConstraints

from conduit.db import documents
from conduit.db.pagination import CursorCodec, InvalidCursor, KeyValue, Scope
from conduit.domain.articles import pages, queries
from conduit.domain.articles import service as articles
from conduit.domain.articles.cursor import SUBJECT as CURSOR
from conduit.domain.articles.filters import ArticleFilter
from conduit.domain.articles.pages import PageQuery
from conduit.domain.articles.search import QUERY_MAX
from conduit.domain.errors import InvalidError, NotFoundError
from conduit.domain.tags.service import NAME_MAX
from conduit.http import documents as written_by_database
from conduit.http.deps import CurrentUser, OptionalUser, SessionDep, SettingsDep
from conduit.http.documents import JSONText
from conduit.http.routes import API_PREFIX
from conduit.http.schemas.articles import (
    MultipleArticlesResponse,
    NewArticleRequest,
    SingleArticleResponse,
    UpdateArticleRequest,
)
from conduit.http.schemas.common import NON_BLANK_PATTERN, Trimmed

router = APIRouter(prefix=API_PREFIX, tags=["articles"])

LIMIT_MAX = 100
# Beyond this an OFFSET only burns database time (and overflows a bigint eventually).
OFFSET_MAX = 1_000_000_000
USERNAME_MAX = 64

Limit = Annotated[int, Query(ge=1, le=LIMIT_MAX, description="Page size (at most 100)")]
Offset = Annotated[
    int | None,
    Query(ge=0, le=OFFSET_MAX, description="Articles to skip (default 0; not with `cursor`)"),
]
Cursor = Annotated[
    str | None,
    # Non-empty in the contract; the codec refuses "" like any cursor it did not issue.
    Query(
        json_schema_extra={"minLength": 1},
        description="`nextCursor` of the previous page: continue right after it",
    ),
]
SearchText = Annotated[
    Annotated[str, StringConstraints(max_length=QUERY_MAX), Trimmed] | None,
    Query(
        min_length=1,
        json_schema_extra={"pattern": NON_BLANK_PATTERN},
        description="Full-text search over title, description and body. PostgreSQL: web-search "
        'syntax (words, "phrases", or, -word), stemmed, best matches first. SQLite: every '
        "word as a case-insensitive substring, newest first.",
    ),
]

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
_LIST_INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "A paging value out of range, a blank or too long `q`, a cursor that "
        "is malformed, altered or issued for other filters, or `cursor` with `offset`"
    }
}


@functools.lru_cache(maxsize=4)
def _codec(secret: str) -> CursorCodec:
    return CursorCodec(secret, purpose="conduit.articles.cursor")


async def cursor_codec(settings: SettingsDep) -> CursorCodec:
    """Signs with the service's secret (the tokens' one, under a purpose of its own)."""
    return _codec(settings.jwt_secret)


CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]


def _position(
    codec: CursorCodec, cursor: str | None, offset: int | None, scope: Scope
) -> tuple[KeyValue, ...] | None:
    if cursor is None:
        return None
    if offset is not None:
        raise InvalidError(CURSOR, "cannot be combined with offset")
    try:
        return codec.decode(cursor, scope=scope)
    except InvalidCursor:
        raise InvalidError(CURSOR, "is invalid") from None


async def _page_response(
    session: SessionDep, codec: CursorCodec, query: PageQuery, scope: Scope
) -> MultipleArticlesResponse | JSONText:
    # PostgreSQL writes the page's JSON itself; elsewhere the response model does.
    if documents.supported(session):
        written = await pages.list_page_documents(
            session, query=query, document=written_by_database.ARTICLE_LIST_ITEM
        )
        return written_by_database.ARTICLES_RESPONSE(
            articles=written.articles,
            articles_count=written.articles_count,
            next_cursor=_next_cursor(codec, written.next_after, scope),
        )
    page = await pages.list_page(session, query=query)
    return MultipleArticlesResponse.of(
        page, next_cursor=_next_cursor(codec, page.next_after, scope)
    )


def _next_cursor(codec: CursorCodec, after: Sequence[KeyValue] | None, scope: Scope) -> str | None:
    return None if after is None else codec.encode(after, scope=scope)


@router.get("/articles", response_model=MultipleArticlesResponse, responses=_LIST_INVALID)
async def list_articles(
    *,
    session: SessionDep,
    viewer: OptionalUser,
    codec: CodecDep,
    tag: Annotated[str | None, Query(max_length=NAME_MAX)] = None,
    author: Annotated[str | None, Query(max_length=USERNAME_MAX)] = None,
    favorited: Annotated[str | None, Query(max_length=USERNAME_MAX)] = None,
    q: SearchText = None,
    limit: Limit = 20,
    offset: Offset = None,
    cursor: Cursor = None,
) -> MultipleArticlesResponse | JSONText:
    where = ArticleFilter(tag=tag, author=author, favorited=favorited, query=q)
    scope: Scope = {
        "list": "articles",
        "tag": tag,
        "author": author,
        "favorited": favorited,
        "q": q,
    }
    query = PageQuery.listing(
        where,
        viewer_id=viewer.id if viewer is not None else None,
        limit=limit,
        offset=offset or 0,
        after=_position(codec, cursor, offset, scope),
    )
    return await _page_response(session, codec, query, scope)


@router.get(
    "/articles/feed",
    response_model=MultipleArticlesResponse,
    responses={**_UNAUTHORIZED, **_LIST_INVALID},
)
async def feed(
    *,
    session: SessionDep,
    user: CurrentUser,
    codec: CodecDep,
    limit: Limit = 20,
    offset: Offset = None,
    cursor: Cursor = None,
) -> MultipleArticlesResponse | JSONText:
    # A feed cursor is its reader's: the followed authors are the feed's filter.
    scope = _feed_scope(user.id)
    query = PageQuery.feed(
        viewer_id=user.id,
        limit=limit,
        offset=offset or 0,
        after=_position(codec, cursor, offset, scope),
    )
    return await _page_response(session, codec, query, scope)


def _feed_scope(viewer_id: uuid.UUID) -> Scope:
    return {"list": "feed", "viewer": str(viewer_id)}


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
) -> SingleArticleResponse | JSONText:
    viewer_id = viewer.id if viewer is not None else None
    if documents.supported(session):
        document = await queries.get_article_document(
            session, slug=slug, viewer_id=viewer_id, document=written_by_database.ARTICLE
        )
        if document is None:
            raise NotFoundError(articles.SUBJECT)
        return written_by_database.ARTICLE_RESPONSE(article=document)
    view = await queries.get_article(session, slug=slug, viewer_id=viewer_id)
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
