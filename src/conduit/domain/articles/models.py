"""Articles and favorites."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from conduit.db.model import Base, SoftDelete, Timestamps, UTCDateTime, UUIDv7PrimaryKey, utcnow

if TYPE_CHECKING:
    from conduit.domain.tags.models import Tag
    from conduit.domain.users.models import User

_LIVE = text("deleted_at IS NULL")


class Article(UUIDv7PrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "articles"
    __table_args__ = (
        # Slugs are unique among live articles: a deleted article keeps its slug, and restoring
        # it conflicts if a live one has taken it since.
        Index(
            "uq_articles_slug",
            "slug",
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
        Index(None, "author_id"),
        # The list order (newest first, id as the tiebreaker) over live articles only: a page
        # is a backward scan of this index, and soft-deleted rows never enter it.
        Index(
            "ix_articles_live_created_at",
            "created_at",
            "id",
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
    )

    slug: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(1000))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    author: Mapped[User] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(secondary="article_tags", lazy="raise")


class Favorite(Base):
    __tablename__ = "favorites"
    __table_args__ = (Index(None, "article_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, server_default=utcnow())
