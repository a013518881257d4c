"""What an article list selects, as conditions whose values are bound when the statement runs.

A list is filtered by tag name, author username, the username who favorited, or a full-text
search; the feed by the authors its reader follows. The conditions name their values as
parameters (``:tag``, ``:author``, ``:favorited``, ``:viewer_id``) instead of holding them, so
the statement of a list depends only on which filters are given (its *shape*,
:class:`ListShape`) and is built once per shape, not per request (see
:mod:`conduit.domain.articles.pages`). A search is the exception: its condition depends on
the query text on SQLite (one ``LIKE`` per word), so it is built for each request.

Each filter is resolved inside the page's statement (``author_id = (SELECT id FROM users WHERE
username = :author)``), and where a count of the selected articles is kept
(:mod:`conduit.domain.articles.kept_counts`: no filter, one tag, one author, one reader's
favorites, the feed) the total is read from it instead of counting the rows. The tag and
favorited filters read their link table in list order (:class:`Link`), so their pages stop
after the page too.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    FromClause,
    ScalarSelect,
    Select,
    String,
    bindparam,
    func,
    join,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute

from conduit.domain.articles import striped_total
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.profiles.models import Follow
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import User
from conduit.domain.viewer import viewer_param

# A scalar subquery reading a kept count.
Total: TypeAlias = ScalarSelect[int]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleFilter:
    """The list filters: by tag name, by author username, by the username who favorited, and
    a full-text search (:mod:`conduit.domain.articles.search`)."""

    tag: str | None = None
    author: str | None = None
    favorited: str | None = None
    query: str | None = None

    def params(self) -> dict[str, Any]:
        """The values the conditions of :func:`conditions` bind."""
        given = {"tag": self.tag, "author": self.author, "favorited": self.favorited}
        return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class ListShape:
    """Which filters a list has: what its statement is built from, and cached by."""

    tag: bool = False
    author: bool = False
    favorited: bool = False
    feed: bool = False

    @classmethod
    def of(cls, where: ArticleFilter) -> ListShape:
        return cls(
            tag=where.tag is not None,
            author=where.author is not None,
            favorited=where.favorited is not None,
        )


def _user_id(param: str) -> ScalarSelect[uuid.UUID]:
    return (
        select(User.id)
        .where(User.username == bindparam(param, type_=String()))
        # Never correlated: the page's statement joins users too (for the author).
        .correlate(None)
        .scalar_subquery()
    )


# The bound parameter that holds the link filter's key (a tag's or a reader's id).
LINK_KEY = "link_key"


@dataclass(frozen=True, slots=True)
class Link:
    """A link table that holds a filter's articles in list order (its index on ``(<key>,
    article_created_at, article_id)``): a page of the filter reads it backward from the key,
    joining each row to its article, and stops after the page, however many articles match.

    The key (the tag's or the reader's id) is looked up first, by ``resolve``, and bound as
    :data:`LINK_KEY`: planned with the key's own statistics, a popular tag's or a prolific
    reader's page is a scan that stops after the page. Read inside the statement instead, the
    key is unknown when planning, and PostgreSQL plans for an average key: for the favorites
    (20 per reader), it reads every favorite of the reader and sorts them.
    """

    table: FromClause
    created: ColumnElement[Any]
    article_id: ColumnElement[uuid.UUID]
    key: ColumnElement[bool]
    resolve: Select[Any]

    def joined(self) -> FromClause:
        return join(self.table, Article, Article.id == self.article_id)


@functools.cache
def link(shape: ListShape) -> Link | None:
    """The link table a page of ``shape`` reads in list order, if a filter has one: the tag's
    links, else the reader's favorites. One per shape: a statement's clauses must name the
    same alias."""
    # Aliases: the projection's subqueries (tag_list, favorites_count, favorited) read the same
    # tables for each article and must not be correlated with the page's link rows.
    if shape.tag:
        tagged = ArticleTag.__table__.alias("tagged")
        return Link(
            tagged,
            tagged.c.article_created_at,
            tagged.c.article_id,
            tagged.c.tag_id == bindparam(LINK_KEY, type_=Tag.id.type),
            select(Tag.id).where(Tag.name == bindparam("tag", type_=String())),
        )
    if shape.favorited:
        liked = Favorite.__table__.alias("liked")
        return Link(
            liked,
            liked.c.article_created_at,
            liked.c.article_id,
            liked.c.user_id == bindparam(LINK_KEY, type_=User.id.type),
            select(User.id).where(User.username == bindparam("favorited", type_=String())),
        )
    return None


def source(shape: ListShape) -> tuple[FromClause, list[ColumnElement[bool]]]:
    """What a list of ``shape`` reads (articles, or the filter's link table joined to them)
    and its conditions, the article being live among them."""
    found = link(shape)
    clauses = [Article.deleted_at.is_(None), *conditions(shape)]
    if found is None:
        return Article.__table__, clauses
    return found.joined(), [found.key, *clauses]


def conditions(shape: ListShape) -> list[ColumnElement[bool]]:
    """The conditions of the filters ``shape`` has, beyond the article being live, but for the
    one whose link table the list reads (:func:`link`)."""
    clauses: list[ColumnElement[bool]] = []
    if shape.author:
        clauses.append(Article.author_id == _user_id("author"))
    if shape.favorited and shape.tag:
        liked = select(Favorite.article_id).where(Favorite.user_id == _user_id("favorited"))
        clauses.append(Article.id.in_(liked))
    if shape.feed:
        followees = select(Follow.followee_id).where(Follow.follower_id == viewer_param())
        clauses.append(Article.author_id.in_(followees))
    return clauses


def keeps_total(shape: ListShape, *, searching: bool = False) -> bool:
    """Whether a count is kept of the articles ``shape`` selects: no filter, or only one of
    tag, author, favorited and feed."""
    given = (shape.tag, shape.author, shape.favorited, shape.feed)
    return not searching and sum(given) <= 1


def _kept_by_name(
    count: InstrumentedAttribute[int], name: InstrumentedAttribute[str], param: str
) -> Total:
    """The kept ``count`` of the row whose ``name`` is ``:param``; 0 if there is none (an
    unknown tag or user selects nothing). Never correlated: the page joins users too."""
    return (
        select(func.coalesce(func.max(count), 0))
        .where(name == bindparam(param, type_=String()))
        .correlate(None)
        .scalar_subquery()
    )


def kept_total(shape: ListShape, *, searching: bool = False) -> Total | None:
    """The kept count of the articles ``shape`` selects, if one is kept for it."""
    if not keeps_total(shape, searching=searching):
        return None
    if shape.tag:
        return _kept_by_name(Tag.articles_count, Tag.name, "tag")
    if shape.author:
        return _kept_by_name(User.articles_count, User.username, "author")
    if shape.favorited:
        return _kept_by_name(User.favorites_count, User.username, "favorited")
    if not shape.feed:
        return striped_total.total()
    # The feed: the sum over the authors the viewer follows.
    return (
        select(func.coalesce(func.sum(User.articles_count), 0))
        .join(Follow, Follow.followee_id == User.id)
        .where(Follow.follower_id == viewer_param())
        .correlate(None)
        .scalar_subquery()
    )
