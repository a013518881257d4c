"""Articles: index each author's articles in list order.

Revision ID: 8e4f1a2b3c5d
Revises: 5c1e2d7a9b30
Create Date: 2026-11-22 05:10:00.000000+00:00

Reviewed: the author filter reads ``WHERE author_id = :author ORDER BY created_at DESC, id
DESC LIMIT n``. With the total kept (revision 5c1e2d7a9b30) nothing else needs every article
of the author, so an index on ``(author_id, created_at, id)`` makes the page one backward
range scan that stops after ``n`` rows, however many the author wrote; over ``author_id``
alone the page reads and sorts them all. The new index leads with ``author_id``, so it also
serves what the plain ``ix_articles_author_id`` it replaces did (the foreign key's lookups,
the ``ON DELETE CASCADE`` from users), and it is not partial for the same reason: the cascade
must find deleted articles too.

On PostgreSQL both indexes are built and dropped CONCURRENTLY (writes continue), each step
rerunnable (IF [NOT] EXISTS, a leftover invalid index dropped first); SQLite does it in the
revision's transaction. Reversible: the downgrade restores the plain index the same way.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8e4f1a2b3c5d"
down_revision: str | Sequence[str] | None = "5c1e2d7a9b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "articles"
AUTHOR_ORDER = "ix_articles_author_created_at"
PLAIN_AUTHOR = "ix_articles_author_id"
COLUMNS = {AUTHOR_ORDER: ["author_id", "created_at", "id"], PLAIN_AUTHOR: ["author_id"]}


def _swap(*, create: str, drop: str) -> None:
    """Build index ``create``, then drop index ``drop``, without blocking writes on PostgreSQL."""
    if op.get_context().dialect.name != "postgresql":
        op.create_index(create, TABLE, COLUMNS[create])
        op.drop_index(drop, table_name=TABLE)
        return
    # CONCURRENTLY cannot run inside a transaction: step out of Alembic's for it.
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
        op.execute("SET statement_timeout = 0")
        op.drop_index(create, table_name=TABLE, postgresql_concurrently=True, if_exists=True)
        op.create_index(
            create, TABLE, COLUMNS[create], postgresql_concurrently=True, if_not_exists=True
        )
        op.drop_index(drop, table_name=TABLE, postgresql_concurrently=True, if_exists=True)
        op.execute("RESET statement_timeout")
        op.execute("RESET lock_timeout")


def upgrade() -> None:
    _swap(create=AUTHOR_ORDER, drop=PLAIN_AUTHOR)


def downgrade() -> None:
    _swap(create=PLAIN_AUTHOR, drop=AUTHOR_ORDER)
