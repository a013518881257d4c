"""What an article read shows, as one statement's select list.

Everything comes from the same statement as the article rows themselves: the author's profile
through joins, and ``tagList``, ``favoritesCount``, ``favorited`` and ``following`` as correlated
subqueries (evaluated, in a page, for the page's rows only). Two projections: columns for
:class:`ArticleView` (every dialect, and the writes' responses), or on PostgreSQL the article's
JSON exactly as the API writes it (:mod:`conduit.db.documents`), which the HTTP layer passes
through without building or validating objects. The viewer is the bound parameter
``:viewer_id`` (:mod:`conduit.domain.viewer`), so the select list depends only on whether
there is one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, func, null, select

from conduit.db import documents as doc
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.profiles.service import ProfileView
from conduit.domain.tags.service import tag_list_of
from conduit.domain.users.models import User
from conduit.domain.viewer import viewer_param


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An article as one viewer sees it. ``body`` is None in list items, which omit it."""

    id: uuid.UUID
    author_id: uuid.UUID
    slug: str
    title: str
    description: str
    body: str | None
    tag_list: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    favorited: bool
    favorites_count: int
    author: ProfileView


def _favorited(viewer: bool) -> ColumnElement[bool]:
    if not viewer:
        return false()
    return exists().where(Favorite.article_id == Article.id, Favorite.user_id == viewer_param())


def _following(viewer: bool) -> ColumnElement[bool]:
    if not viewer:
        return false()
    return exists().where(
        Follow.follower_id == viewer_param(), Follow.followee_id == Article.author_id
    )


def _favorites_count() -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(Favorite)
        .where(Favorite.article_id == Article.id)
        .scalar_subquery()
    )


def _columns(viewer: bool, *, with_body: bool) -> tuple[Any, ...]:
    """The columns of :class:`ArticleView`, in its field order (the author's last)."""
    return (
        Article.id,
        Article.author_id,
        Article.slug,
        Article.title,
        Article.description,
        Article.body if with_body else null().label("body"),
        tag_list_of(Article.id).label("tag_list"),
        Article.created_at,
        Article.updated_at,
        _favorited(viewer).label("favorited"),
        _favorites_count().label("favorites_count"),
        User.username,
        Profile.bio,
        Profile.image,
        _following(viewer).label("following"),
    )


def _document(viewer: bool, *, with_body: bool) -> tuple[Any, ...]:
    """The article as the API writes it (the response models' keys and order), as JSON text."""
    body = [("body", doc.value(Article.body))] if with_body else []
    author = doc.obj(
        [
            ("username", doc.value(User.username)),
            ("bio", doc.value(Profile.bio)),
            ("image", doc.value(Profile.image)),
            ("following", doc.value(_following(viewer))),
        ]
    )
    article = doc.obj(
        [
            ("slug", doc.value(Article.slug)),
            ("title", doc.value(Article.title)),
            ("description", doc.value(Article.description)),
            *body,
            ("tagList", doc.string_array(tag_list_of(Article.id))),
            ("createdAt", doc.timestamp(Article.created_at)),
            ("updatedAt", doc.timestamp(Article.updated_at)),
            ("favorited", doc.value(_favorited(viewer))),
            ("favoritesCount", doc.value(_favorites_count())),
            ("author", author),
        ]
    )
    return (article.label("document"),)


def projection(viewer: bool, *, with_body: bool, as_documents: bool) -> tuple[Any, ...]:
    if as_documents:
        return _document(viewer, with_body=with_body)
    return _columns(viewer, with_body=with_body)


def view(row: Sequence[Any]) -> ArticleView:
    return ArticleView(
        id=row[0],
        author_id=row[1],
        slug=row[2],
        title=row[3],
        description=row[4],
        body=row[5],
        tag_list=row[6],
        created_at=row[7],
        updated_at=row[8],
        favorited=bool(row[9]),
        favorites_count=row[10],
        author=ProfileView(username=row[11], bio=row[12], image=row[13], following=bool(row[14])),
    )


def with_author(statement: Select[Any]) -> Select[Any]:
    return statement.join(User, User.id == Article.author_id).outerjoin(
        Profile, Profile.user_id == Article.author_id
    )
