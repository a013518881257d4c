"""Users: a token version, moved on by every password change.

Revision ID: b7d2c4e9f1a3
Revises: 8e4f1a2b3c5d
Create Date: 2026-12-07 16:00:00.000000+00:00

Reviewed. Access tokens carry the version of their account (claim ``ver``); the statement that
loads the signed-in user matches it, so a password change, which moves the version on, ends
every token issued before it. Tokens issued before this revision carry no version and count as
version 0, the one every existing account starts at: nobody is signed out by the upgrade.

``users.token_version`` is ``INTEGER NOT NULL DEFAULT 0``: with a constant default, adding it
is a catalog change only on PostgreSQL 11 and later (no rewrite, no backfill; the ACCESS
EXCLUSIVE lock is held for an instant and bounded by ``lock_timeout``). Instances of the
previous release keep working against the new column (they neither read nor write it), though
a password changed through one of them does not end older tokens.

Reversible: the downgrade drops the column (tokens then outlive password changes again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d2c4e9f1a3"
down_revision: str | Sequence[str] | None = "8e4f1a2b3c5d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _bound_the_locks() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("SET LOCAL statement_timeout = '60s'")


def upgrade() -> None:
    _bound_the_locks()
    op.add_column(
        "users", sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    _bound_the_locks()
    op.drop_column("users", "token_version")
