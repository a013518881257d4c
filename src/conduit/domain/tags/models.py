"""Tags and their association with articles."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from conduit.db.model import Base, UTCDateTime

if TYPE_CHECKING:
    from conduit.domain.articles.models import Article

NAME_MAX = 64


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    # Live articles carrying the tag (conduit.domain.articles.kept_counts keeps it exact).
    articles_count: Mapped[int] = mapped_column(Integer, server_default="0")

    articles: Mapped[list[Article]] = relationship(
        secondary="article_tags", back_populates="tags", lazy="raise", passive_deletes=True
    )


class ArticleTag(Base):
    __tablename__ = "article_tags"
    __table_args__ = (
        # A tag's articles in list order: the tag filter's page is one backward range scan of
        # it that stops after the page, however many articles carry the tag. Leading with
        # tag_id, it also serves the foreign key (the cascade from tags).
        Index("ix_article_tags_tag_created_at", "tag_id", "article_created_at", "article_id"),
    )

    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    # The article's created_at, copied when the link is written (it never changes), so the
    # link table holds the list order. NULL only on links written by an older version during
    # an upgrade, until ``conduit db recount`` copies it.
    article_created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
