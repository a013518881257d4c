"""What an article read shows, as one statement's select list.

Everything comes from the same statement as the article rows themselves: the author's profile
through joins, ``favorites_count`` from the article's row (kept by
:mod:`conduit.domain.articles.kept_counts`), and ``tag_list``, ``favorited`` and ``following``
as correlated subqueries (evaluated, in a page, for the page's rows only). Two projections:
columns labelled with the fields of :class:`ArticleView` (every dialect, and the writes'
responses), or on PostgreSQL one JSON column that a :data:`~conduit.db.documents.Document`
writes from those same columns (the HTTP layer's, from its response models), which the HTTP
layer passes through without building or validating objects. The viewer is the bound
parameter ``:viewer_id`` (:mod:`conduit.domain.viewer`), so the select list depends only on
whether there is one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, null

from conduit.db import rows as by_label
from conduit.db.documents import DOCUMENT, Document
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.profiles.service import ProfileView, profile_reader
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


def columns(viewer: bool, *, with_body: bool) -> dict[str, ColumnElement[Any]]:
    """What an article read selects, by label: the fields of :class:`ArticleView`, the
    author's (:class:`ProfileView`) among them."""
    return {
        "id": Article.id.expression,
        "author_id": Article.author_id.expression,
        "slug": Article.slug.expression,
        "title": Article.title.expression,
        "description": Article.description.expression,
        "body": Article.body.expression if with_body else null(),
        "tag_list": tag_list_of(Article.id),
        "created_at": Article.created_at.expression,
        "updated_at": Article.updated_at.expression,
        "favorited": _favorited(viewer),
        "favorites_count": Article.favorites_count.expression,
        "username": User.username.expression,
        "bio": Profile.bio.expression,
        "image": Profile.image.expression,
        "following": _following(viewer),
    }


def projection(viewer: bool, *, with_body: bool, document: Document | None) -> tuple[Any, ...]:
    """The select list of an article read: the labelled :func:`columns`, or the one column
    ``document`` writes from them."""
    selected = columns(viewer, with_body=with_body)
    if document is not None:
        return (document(selected).label(DOCUMENT),)
    return by_label.select_list(selected)


# The article's own fields (the author's come last): labels of projection().
_ARTICLE_FIELDS = tuple(field.name for field in fields(ArticleView) if field.name != "author")


def reader(keys: Iterable[str]) -> Callable[[Sequence[Any]], ArticleView]:
    """The view in each row of a result of :func:`projection`'s columns, whose labels are
    ``keys``: the labels are looked up once, not per row."""
    labels = list(keys)
    article = by_label.columns(labels, _ARTICLE_FIELDS)
    author = profile_reader(labels)
    # mypy cannot count the getter's tuple: every field of the view but the author.
    return lambda row: ArticleView(*article(row), author(row))  # type: ignore[call-arg]


def with_author(statement: Select[Any]) -> Select[Any]:
    return statement.join(User, User.id == Article.author_id).outerjoin(
        Profile, Profile.user_id == Article.author_id
    )
