"""Tags and their association with articles."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from conduit.db.model import Base

if TYPE_CHECKING:
    from conduit.domain.articles.models import Article


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # Live articles carrying the tag (conduit.domain.articles.counts keeps it exact).
    articles_count: Mapped[int] = mapped_column(Integer, server_default="0")

    articles: Mapped[list[Article]] = relationship(
        secondary="article_tags", back_populates="tags", lazy="raise", passive_deletes=True
    )


class ArticleTag(Base):
    __tablename__ = "article_tags"
    __table_args__ = (Index(None, "tag_id"),)

    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
