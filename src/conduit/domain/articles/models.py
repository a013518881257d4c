"""Articles and favorites."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship, unmapped_column

from conduit.db.model import Base, SoftDelete, Timestamps, UTCDateTime, UUIDv7PrimaryKey, utcnow

if TYPE_CHECKING:
    from conduit.domain.comments.models import Comment
    from conduit.domain.tags.models import Tag
    from conduit.domain.users.models import User

_LIVE = text("deleted_at IS NULL")
# Schema objects that exist on PostgreSQL only: migrations/env.py leaves them out on SQLite.
POSTGRESQL_ONLY = {"postgresql_only": True}
# MySQL has no text-search type: its FULLTEXT index exists there alone.
MYSQL_ONLY = {"dialects": ("mysql",)}

TITLE_MAX = 255
DESCRIPTION_MAX = 1000
# body is TEXT: the limit is the API's, so one article stays a reasonable read.
BODY_MAX = 100_000


class Article(UUIDv7PrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "articles"
    __table_args__ = (
        # Slugs are unique among live articles: a deleted article keeps its slug, and restoring
        # it conflicts if a live one has taken it since.
        # MySQL has no partial index: there the migrations build it over ``live_slug``, a
        # virtual column that is the slug of a live article and NULL once it is deleted (a
        # unique index admits any number of NULLs); same name, so conflicts read the same. The
        # column is the database's alone (not the model's: a SELECT of every column works on
        # every dialect), and the drift check checks that the index exists, not its column.
        Index(
            "uq_articles_slug",
            "slug",
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
        # MySQL's lookups by slug (``live_slug`` is not what the reads filter on): one index
        # range of the slug's articles, live or deleted, instead of a scan of the table.
        Index("ix_articles_slug", "slug", info=MYSQL_ONLY),
        # An author's articles in list order: the author filter's page is one backward range
        # scan. Leading with author_id, it also serves the foreign key (not partial: the
        # cascade from users must find deleted articles too).
        Index("ix_articles_author_created_at", "author_id", "created_at", "id"),
        # The list order (newest first, id as the tiebreaker) over live articles only: a page
        # is a backward scan of this index, and soft-deleted rows never enter it.
        Index(
            "ix_articles_live_created_at",
            "created_at",
            "id",
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
        # Full-text search over live articles (PostgreSQL; SQLite searches with LIKE).
        Index(
            "ix_articles_search_vector",
            "search_vector",
            postgresql_using="gin",
            postgresql_where=_LIVE,
            info=POSTGRESQL_ONLY,
        ),
        # MySQL's full-text search: MATCH (title, description, body) AGAINST (...). There the
        # search revision gives the three columns a case-folding collation (the index matches
        # words by it); the types here name none, so the drift check compares the types only.
        Index(
            "ix_articles_fulltext",
            "title",
            "description",
            "body",
            mysql_prefix="FULLTEXT",
            info=MYSQL_ONLY,
        ),
        {"info": {"mysql_generated": {"live_slug": "uq_articles_slug"}}},
    )

    slug: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX))
    # MEDIUMTEXT on MySQL: 100,000 characters of up to 4 bytes outgrow its TEXT (64 KiB).
    body: Mapped[str] = mapped_column(Text().with_variant(mysql.MEDIUMTEXT(), "mysql"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Favorites of the article, live or deleted, by any user: its ``favoritesCount``
    # (conduit.domain.articles.kept_counts keeps it exact).
    favorites_count: Mapped[int] = mapped_column(Integer, server_default="0")
    # The weighted search document (title A, description B, body C), written by a trigger on
    # PostgreSQL (see the search revision). SQLite has no text-search type and searches with
    # LIKE: there the column is TEXT and stays NULL, so the table has one shape on both and
    # generic readers (SELECT of every column, dumps) work everywhere. Part of the table, so
    # the drift check compares it, but not of the ORM mapping: entities never load or insert
    # it, and queries reach it as ``Article.__table__.c.search_vector`` (PostgreSQL only).
    search_vector: Unmapped[str | None] = unmapped_column(
        TSVECTOR().with_variant(Text(), "sqlite", "mysql")
    )

    # Relationships raise rather than lazy-load: the service's reads select columns, and a
    # caller that wants entities names its loader (selectinload, joinedload, ...) per query.
    # passive_deletes: the foreign keys cascade in the database, so deleting an article never
    # has to load its comments or tag links first.
    author: Mapped[User] = relationship(back_populates="articles", lazy="raise")
    tags: Mapped[list[Tag]] = relationship(
        secondary="article_tags", back_populates="articles", lazy="raise", passive_deletes=True
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="article",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
        order_by="Comment.id",
    )


class Favorite(Base):
    __tablename__ = "favorites"
    __table_args__ = (
        Index(None, "article_id"),
        # A reader's favorites in list order: the favorited filter's page is one backward
        # range scan of it that stops after the page.
        Index("ix_favorites_user_created_at", "user_id", "article_created_at", "article_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, server_default=utcnow())
    # The article's created_at, copied when the favorite is written (it never changes): the
    # list order. NULL only on rows written by an older version during an upgrade, until
    # ``conduit db recount`` copies it.
    article_created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Counter(Base):
    """A named count, kept exact by the writes that change it (``domain/articles/kept_counts.py``).

    One row per count that belongs to no other row: ``live_articles``, the total the unfiltered
    list shows. Counts that belong to a row live on it (``users.articles_count``,
    ``tags.articles_count``).
    """

    __tablename__ = "counters"
    __table_args__ = (CheckConstraint("value >= 0", name="value_non_negative"),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
