"""Initial schema: users, profiles, follows, articles, tags, favorites, comments, credits.

Revision ID: 34ebac2950c6
Revises:
Create Date: 2026-11-22 00:55:06.048355+00:00

Reviewed: every foreign key is indexed (directly or as the leading primary key column); time
columns default to the database clock (``utcnow`` renders a millisecond clock on SQLite); the
downgrade drops everything in reverse dependency order.

MySQL/MariaDB: UUIDs are ``BINARY(16)``, times ``DATETIME(6)`` in UTC, every table InnoDB with
a binary ``NO PAD`` collation (text compares as on PostgreSQL: ``conduit.db.mysql``). MySQL has
no partial index: live slugs are unique through ``articles.live_slug``, a virtual column that is
the slug while the article is live and NULL once it is deleted, under a unique index of the
partial index's name (``conduit.domain.articles.models`` says why the model has no such column).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql as mysql_types

from conduit.db.model import CompactUuid, UTCDateTime, utcnow
from conduit.db.mysql import table_options

# An article's body (100,000 characters, up to 4 bytes each) outgrows MySQL's TEXT (64 KiB).
ARTICLE_BODY = sa.Text().with_variant(mysql_types.MEDIUMTEXT(), "mysql")

revision: str = "34ebac2950c6"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LIVE = sa.text("deleted_at IS NULL")


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(), server_default=utcnow(), nullable=False)


def upgrade() -> None:
    dialect = op.get_context().dialect
    options = table_options(dialect)
    mysql = dialect.name == "mysql"
    if dialect.name == "postgresql":
        # Give up instead of queueing behind live traffic (which would then queue behind us).
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("SET LOCAL statement_timeout = '60s'")
    op.create_table(
        "users",
        sa.Column("id", CompactUuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), server_default="user", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("credits", sa.Integer(), server_default="0", nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint("credits >= 0", name=op.f("ck_users_credits_non_negative")),
        sa.CheckConstraint(
            "role IN ('user', 'moderator', 'admin')", name=op.f("ck_users_role_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        **options,
    )
    op.create_table(
        "profiles",
        sa.Column("user_id", CompactUuid(), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("image", sa.String(length=2048), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_profiles")),
        **options,
    )
    op.create_table(
        "follows",
        sa.Column("follower_id", CompactUuid(), nullable=False),
        sa.Column("followee_id", CompactUuid(), nullable=False),
        sa.CheckConstraint("follower_id <> followee_id", name=op.f("ck_follows_no_self_follow")),
        sa.ForeignKeyConstraint(
            ["follower_id"],
            ["users.id"],
            name=op.f("fk_follows_follower_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["followee_id"],
            ["users.id"],
            name=op.f("fk_follows_followee_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("follower_id", "followee_id", name=op.f("pk_follows")),
        **options,
    )
    op.create_index(op.f("ix_follows_followee_id"), "follows", ["followee_id"])

    op.create_table(
        "articles",
        sa.Column("id", CompactUuid(), nullable=False),
        sa.Column("slug", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("body", ARTICLE_BODY, nullable=False),
        sa.Column("author_id", CompactUuid(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_articles_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        *(
            [
                sa.Column(
                    "live_slug",
                    sa.String(length=255),
                    sa.Computed("IF(deleted_at IS NULL, slug, NULL)", persisted=False),
                )
            ]
            if mysql
            else []
        ),
        **options,
    )
    op.create_index(op.f("ix_articles_author_id"), "articles", ["author_id"])
    op.create_index(op.f("ix_articles_created_at"), "articles", ["created_at"])
    op.create_index(
        "uq_articles_slug",
        "articles",
        ["live_slug" if mysql else "slug"],
        unique=True,
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    if mysql:
        # The reads filter on slug, not on live_slug: without this they scan the table.
        op.create_index("ix_articles_slug", "articles", ["slug"])

    op.create_table(
        "tags",
        sa.Column("id", BIGINT, sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
        **options,
    )
    op.create_table(
        "article_tags",
        sa.Column("article_id", CompactUuid(), nullable=False),
        sa.Column("tag_id", BIGINT, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_tags_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_article_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("article_id", "tag_id", name=op.f("pk_article_tags")),
        **options,
    )
    op.create_index(op.f("ix_article_tags_tag_id"), "article_tags", ["tag_id"])

    op.create_table(
        "favorites",
        sa.Column("user_id", CompactUuid(), nullable=False),
        sa.Column("article_id", CompactUuid(), nullable=False),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_favorites_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_favorites_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "article_id", name=op.f("pk_favorites")),
        **options,
    )
    op.create_index(op.f("ix_favorites_article_id"), "favorites", ["article_id"])

    op.create_table(
        "comments",
        sa.Column("id", BIGINT, sa.Identity(always=False), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("article_id", CompactUuid(), nullable=False),
        sa.Column("author_id", CompactUuid(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_comments_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_comments_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
        **options,
    )
    op.create_index(op.f("ix_comments_article_id"), "comments", ["article_id"])
    op.create_index(op.f("ix_comments_author_id"), "comments", ["author_id"])

    op.create_table(
        "credit_transfers",
        sa.Column("id", BIGINT, sa.Identity(always=False), nullable=False),
        sa.Column("from_user_id", CompactUuid(), nullable=True),
        sa.Column("to_user_id", CompactUuid(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_transfers_amount_positive")),
        sa.CheckConstraint(
            "from_user_id IS NULL OR from_user_id <> to_user_id",
            name=op.f("ck_credit_transfers_not_to_self"),
        ),
        sa.ForeignKeyConstraint(
            ["from_user_id"],
            ["users.id"],
            name=op.f("fk_credit_transfers_from_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_user_id"],
            ["users.id"],
            name=op.f("fk_credit_transfers_to_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_transfers")),
        **options,
    )
    op.create_index(op.f("ix_credit_transfers_from_user_id"), "credit_transfers", ["from_user_id"])
    op.create_index(op.f("ix_credit_transfers_to_user_id"), "credit_transfers", ["to_user_id"])


def downgrade() -> None:
    op.drop_table("credit_transfers")
    op.drop_table("comments")
    op.drop_table("favorites")
    op.drop_table("article_tags")
    op.drop_table("tags")
    op.drop_table("articles")
    op.drop_table("follows")
    op.drop_table("profiles")
    op.drop_table("users")
