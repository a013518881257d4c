"""Comments on articles; the API exposes their integer ids."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from conduit.db.model import Base, BigIntIdentityKey, SoftDelete, Timestamps

if TYPE_CHECKING:
    from conduit.domain.articles.models import Article
    from conduit.domain.users.models import User

# body is TEXT: the limit is the API's.
BODY_MAX = 10_000


class Comment(BigIntIdentityKey, Timestamps, SoftDelete, Base):
    __tablename__ = "comments"
    __table_args__ = (Index(None, "article_id"), Index(None, "author_id"))

    body: Mapped[str] = mapped_column(Text)
    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    article: Mapped[Article] = relationship(back_populates="comments", lazy="raise")
    author: Mapped[User] = relationship(lazy="raise")
