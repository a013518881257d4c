"""Accounts: who can sign in, with which role, holding how many credits."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from conduit.db.model import Base, Timestamps, UUIDv7PrimaryKey

if TYPE_CHECKING:
    from conduit.domain.articles.models import Article
    from conduit.domain.profiles.models import Profile

USERNAME_MAX = 64
# The longest address SMTP can deliver to (RFC 5321's path limit less the brackets).
EMAIL_MAX = 254
# users.credits is a 32-bit INTEGER on PostgreSQL: no balance and no amount may exceed it.
CREDITS_MAX = 2**31 - 1


class Role(StrEnum):
    USER = "user"
    MODERATOR = "moderator"
    ADMIN = "admin"


class User(UUIDv7PrimaryKey, Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("credits >= 0", name="credits_non_negative"),
        CheckConstraint("role IN ('user', 'moderator', 'admin')", name="role_known"),
        # Profile search (username ILIKE '%q%'): trigrams serve substring patterns, which no
        # B-tree can. PostgreSQL only (pg_trgm); migrations/env.py leaves it out on SQLite.
        Index(
            "ix_users_username_trgm",
            "username",
            postgresql_using="gin",
            postgresql_ops={"username": "gin_trgm_ops"},
            info={"postgresql_only": True},
        ),
    )

    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.USER, server_default=Role.USER)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    credits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Live articles by the user (conduit.domain.articles.kept_counts keeps it exact).
    articles_count: Mapped[int] = mapped_column(Integer, server_default="0")
    # Moved on by every password change; a token issued under an older version is refused.
    token_version: Mapped[int] = mapped_column(Integer, server_default="0")
    # Live articles the user favorited: the favorited filter's total (kept exact the same way).
    favorites_count: Mapped[int] = mapped_column(Integer, server_default="0")

    # Deleting a user cascades to the profile and the articles in the database (ON DELETE
    # CASCADE); without passive_deletes the ORM would load them first to null their user id.
    profile: Mapped[Profile] = relationship(
        back_populates="user", lazy="raise", uselist=False, passive_deletes=True
    )
    articles: Mapped[list[Article]] = relationship(
        back_populates="author", lazy="raise", passive_deletes=True
    )
