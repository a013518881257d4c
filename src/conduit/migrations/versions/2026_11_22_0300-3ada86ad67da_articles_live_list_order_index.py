"""Articles: index the list order over live articles only.

Revision ID: 3ada86ad67da
Revises: 34ebac2950c6
Create Date: 2026-11-22 03:00:00.000000+00:00

Reviewed: every article read filters ``deleted_at IS NULL`` and orders by ``created_at DESC,
id DESC``; the partial index ``(created_at, id) WHERE deleted_at IS NULL`` serves exactly that
(a backward scan), so the plain ``created_at`` index it replaces has no remaining reader.
On PostgreSQL both indexes are built and dropped CONCURRENTLY, so a live ``articles`` table
keeps taking writes; SQLite has no such thing and does it in the revision's transaction.
Reversible: the downgrade restores the plain index the same way.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3ada86ad67da"
down_revision: str | Sequence[str] | None = "34ebac2950c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "articles"
LIVE_ORDER = "ix_articles_live_created_at"
PLAIN_ORDER = "ix_articles_created_at"
LIVE = sa.text("deleted_at IS NULL")


def _create_live_order(**kw: object) -> None:
    op.create_index(
        LIVE_ORDER, TABLE, ["created_at", "id"], postgresql_where=LIVE, sqlite_where=LIVE, **kw
    )


def _swap(*, create: str, drop: str) -> None:
    """Build index ``create``, then drop index ``drop``, without blocking writes on PostgreSQL."""

    def build(**kw: object) -> None:
        if create == LIVE_ORDER:
            _create_live_order(**kw)
        else:
            op.create_index(PLAIN_ORDER, TABLE, ["created_at"], **kw)

    if op.get_context().dialect.name != "postgresql":
        build()
        op.drop_index(drop, table_name=TABLE)
        return
    # CONCURRENTLY cannot run inside a transaction: step out of Alembic's for it. Outside a
    # transaction a failure can leave the work half done, hence IF [NOT] EXISTS so that a rerun
    # finishes it, and the drop first: a build cancelled part way leaves an invalid index.
    with op.get_context().autocommit_block():
        # Session settings (SET LOCAL needs a transaction). A concurrent build blocks no
        # writes, so it may take its time once it has its lock.
        op.execute("SET lock_timeout = '5s'")
        op.execute("SET statement_timeout = 0")
        op.drop_index(create, table_name=TABLE, postgresql_concurrently=True, if_exists=True)
        build(postgresql_concurrently=True, if_not_exists=True)
        op.drop_index(drop, table_name=TABLE, postgresql_concurrently=True, if_exists=True)
        op.execute("RESET statement_timeout")
        op.execute("RESET lock_timeout")


def upgrade() -> None:
    _swap(create=LIVE_ORDER, drop=PLAIN_ORDER)


def downgrade() -> None:
    _swap(create=PLAIN_ORDER, drop=LIVE_ORDER)
