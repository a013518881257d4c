"""Public profiles and the follow graph."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from conduit.db.model import Base

if TYPE_CHECKING:
    from conduit.domain.users.models import User

IMAGE_MAX = 2048
# bio is TEXT: the limit is the API's, so a profile stays a reasonable read.
BIO_MAX = 10_000


class Profile(Base):
    __tablename__ = "profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    bio: Mapped[str | None] = mapped_column(Text, default=None)
    image: Mapped[str | None] = mapped_column(String(IMAGE_MAX), default=None)

    user: Mapped[User] = relationship(back_populates="profile", lazy="raise")


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        CheckConstraint("follower_id <> followee_id", name="no_self_follow"),
        # The primary key leads with follower_id; this one serves "who follows X".
        Index(None, "followee_id"),
    )

    follower_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
