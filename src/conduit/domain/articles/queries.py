"""Single articles: one statement each, built once per shape.

The statement selects :mod:`conduit.domain.articles.views`' projection for the live article
with ``:slug``; the slug and the viewer are bound parameters, so there are four statements in
all (viewer or not, columns or the JSON document), each built, compiled and cache-keyed once
per process: building a statement and deriving its cache key cost more CPU than running it. Pages
are :mod:`conduit.domain.articles.pages`.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import CursorResult, Select, String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.documents import Document
from conduit.domain.articles.models import Article
from conduit.domain.articles.views import ArticleView, projection, reader, with_author
from conduit.domain.users.service import read_checking_account
from conduit.domain.viewer import VIEWER

_SLUG = "slug"


@functools.lru_cache(maxsize=8)
def _article_statement(*, viewer: bool, document: Document | None) -> Select[Any]:
    selected = projection(viewer, with_body=True, document=document)
    return with_author(select(*selected).select_from(Article)).where(
        Article.slug == bindparam(_SLUG, type_=String()), Article.deleted_at.is_(None)
    )


async def _article_result(
    session: AsyncSession, *, slug: str, viewer_id: uuid.UUID | None, document: Document | None
) -> CursorResult[Any]:
    statement = _article_statement(viewer=viewer_id is not None, document=document)
    connection = await session.connection()
    result: CursorResult[Any] = await connection.execute(
        statement, {_SLUG: slug, VIEWER: viewer_id}
    )
    return result


async def get_article(
    session: AsyncSession, *, slug: str, viewer_id: uuid.UUID | None
) -> ArticleView | None:
    """The live article with ``slug`` as ``viewer_id`` sees it, or None: 1 statement."""
    result = await _article_result(session, slug=slug, viewer_id=viewer_id, document=None)
    row = result.one_or_none()
    return reader(result.keys())(row) if row is not None else None


async def get_checked_article_document(
    session: AsyncSession,
    *,
    slug: str,
    reader_id: uuid.UUID,
    token_version: int,
    document: Document,
) -> tuple[bool, str | None]:
    """:func:`get_article_document` for a reader whose account is not yet checked: whether it
    is active at ``token_version``, and then the article as it sees it: 1 statement for both
    (see :func:`conduit.domain.users.service.read_checking_account`)."""
    return await read_checking_account(
        session,
        _article_statement(viewer=True, document=document),
        {_SLUG: slug},
        reader_id=reader_id,
        token_version=token_version,
    )


async def get_article_document(
    session: AsyncSession, *, slug: str, viewer_id: uuid.UUID | None, document: Document
) -> str | None:
    """:func:`get_article` as JSON that ``document`` writes from the article's columns, built by
    PostgreSQL: 1 statement."""
    result = await _article_result(session, slug=slug, viewer_id=viewer_id, document=document)
    written = result.scalar_one_or_none()
    return str(written) if written is not None else None
