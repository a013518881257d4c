"""The articles endpoints of the RealWorld API: lists, the feed, CRUD and favorites.

Lists and the feed page two ways. ``limit``/``offset`` as the spec has it; and ``cursor``: every
list response carries ``nextCursor`` (null on the last page), and passing it back continues
right after the last article shown, however many were published since and however deep the
page (see :mod:`conduit.db.pagination`). A cursor is bound to the filters it was issued for:
with other filters, or altered in any way, it is refused as invalid.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response
from pydantic import StringConstraints

from conduit.db import documents
from conduit.db.pagination import CursorCodec, KeyValue, Scope
from conduit.domain.articles import pages, queries
from conduit.domain.articles import service as articles
from conduit.domain.articles.filters import ArticleFilter
from conduit.domain.articles.pages import PageQuery
from conduit.domain.articles.search import QUERY_MAX
from conduit.domain.errors import InvalidError, NotFoundError
from conduit.domain.tags.models import NAME_MAX
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
from conduit.http.errors import CURSOR
from conduit.http.params import (
    NO_ARTICLE,
    Cursor,
    CursorCodecDep,
    Limit,
    Offset,
    PageKind,
    Responses,
    next_cursor,
    position,
)
from conduit.http.routes import API_PREFIX, resource_router
from conduit.http.schemas.articles import (
    MultipleArticlesResponse,
    NewArticleRequest,
    SingleArticleResponse,
    UpdateArticleRequest,
)
from conduit.http.schemas.common import NON_BLANK_PATTERN, Trimmed

router = resource_router(prefix=API_PREFIX, tags=["articles"])

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

_WRITE: Responses = {
    **NO_ARTICLE,
    403: {"description": "The article belongs to someone else"},
    422: {"description": "A field is blank, null or too long"},
}
_LIST_INVALID: Responses = {
    422: {
        "description": "A paging value out of range, a blank or too long `q`, a cursor that "
        "is malformed, altered or issued for other filters, or `cursor` with `offset`"
    }
}


def _position(
    codec: CursorCodec, cursor: str | None, offset: int | None, kind: PageKind, scope: Scope
) -> tuple[KeyValue, ...] | None:
    if cursor is not None and offset is not None:
        raise InvalidError(CURSOR, "cannot be combined with offset")
    return position(codec, cursor, kind=kind, scope=scope)


async def _page_response(
    session: SessionDep, codec: CursorCodec, query: PageQuery, kind: PageKind, scope: Scope
) -> MultipleArticlesResponse | JSONText:
    # PostgreSQL writes the page's JSON itself; elsewhere the response model does.
    if documents.supported(session):
        written = await pages.list_page_documents(
            session, query=query, document=written_by_database.ARTICLE_LIST_ITEM
        )
        return written_by_database.ARTICLES_RESPONSE(
            articles=written.articles,
            articles_count=written.articles_count,
            next_cursor=next_cursor(codec, written.next_after, kind=kind, scope=scope),
        )
    page = await pages.list_page(session, query=query)
    return MultipleArticlesResponse.of(
        page, next_cursor=next_cursor(codec, page.next_after, kind=kind, scope=scope)
    )


@router.get("/articles", response_model=MultipleArticlesResponse, responses=_LIST_INVALID)
async def list_articles(
    *,
    session: SessionDep,
    viewer: OptionalUser,
    codec: CursorCodecDep,
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
        after=_position(codec, cursor, offset, PageKind.ARTICLES, scope),
    )
    return await _page_response(session, codec, query, PageKind.ARTICLES, scope)


@router.get("/articles/feed", response_model=MultipleArticlesResponse, responses=_LIST_INVALID)
async def feed(
    *,
    session: SessionDep,
    user: CurrentUser,
    codec: CursorCodecDep,
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
        after=_position(codec, cursor, offset, PageKind.FEED, scope),
    )
    return await _page_response(session, codec, query, PageKind.FEED, scope)


def _feed_scope(viewer_id: uuid.UUID) -> Scope:
    return {"viewer": str(viewer_id)}


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


@router.get("/articles/{slug}", response_model=SingleArticleResponse, responses=NO_ARTICLE)
async def get_article(
    slug: str, session: SessionDep, token: OptionalToken
) -> SingleArticleResponse | JSONText:
    if documents.supported(session):
        document = await read_for_token(
            session,
            token,
            queries.get_article_document,
            queries.get_checked_article_document,
            slug=slug,
            document=written_by_database.ARTICLE,
        )
        if document is None:
            raise NotFoundError(articles.SUBJECT)
        return written_by_database.ARTICLE_RESPONSE(article=document)
    viewer = None if token is None else await checked_identity(session, token)
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
    responses=NO_ARTICLE,
)
async def favorite(slug: str, session: SessionDep, user: CurrentUser) -> SingleArticleResponse:
    return SingleArticleResponse.of(await articles.favorite(session, user=user, slug=slug))


@router.delete(
    "/articles/{slug}/favorite",
    response_model=SingleArticleResponse,
    responses=NO_ARTICLE,
)
async def unfavorite(slug: str, session: SessionDep, user: CurrentUser) -> SingleArticleResponse:
    return SingleArticleResponse.of(await articles.unfavorite(session, user=user, slug=slug))
