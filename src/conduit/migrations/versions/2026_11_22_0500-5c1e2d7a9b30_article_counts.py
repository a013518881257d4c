"""Counts of live articles: in total, per author and per tag.

Revision ID: 5c1e2d7a9b30
Revises: aa6fa5ba95f0
Create Date: 2026-11-22 05:00:00.000000+00:00

Reviewed. The lists show how many articles match; counting the matching rows on every request
costs PostgreSQL a pass over all of them. From this revision on the counts are kept, exact, by
the writes that change them (``conduit.domain.articles.kept_counts``):

- ``counters``: a new table of named counts, holding one row, ``live_articles``. Creating a
  table locks nothing that exists.
- ``users.articles_count`` and ``tags.articles_count``: ``INTEGER NOT NULL DEFAULT 0``. A
  constant default makes adding the column a catalog change only on PostgreSQL 11 and later
  (no rewrite, the ACCESS EXCLUSIVE lock held for an instant, bounded by ``lock_timeout``).
- The backfill counts the existing rows outside the revision's transaction, in batches of
  5,000 along each primary key, each committed on its own: no long transaction, no table-wide
  row locks (the same pattern as the search revision). SQLite and MySQL count in one
  statement per table.

Deploying: instances of the previous version keep writing without updating the counts while
they drain. Once the last of them has stopped, run ``conduit db recount`` (one transaction)
to make the counts exact again; a single-instance ``conduit serve`` migrates before it serves
and needs nothing more.

Reversible: the downgrade drops the two columns and the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from conduit.db.mysql import table_options

revision: str = "5c1e2d7a9b30"
down_revision: str | Sequence[str] | None = "aa6fa5ba95f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One statement per batch of rows, committed on its own by the DO block (it runs outside a
# transaction). ``{table}``, ``{key}`` and ``{start}`` name the table, its key and a value
# below every key; the last key of a batch is found with ORDER BY ... LIMIT 1 (PostgreSQL has
# no max(uuid) before 16).
BACKFILL = """\
DO $$
DECLARE
  last_key {key_type} := {start};
  batch_last {key_type};
BEGIN
  LOOP
    SELECT id INTO batch_last
    FROM (SELECT id FROM {table} WHERE id > last_key ORDER BY id LIMIT 5000) AS batch
    ORDER BY id DESC LIMIT 1;
    EXIT WHEN batch_last IS NULL;
    UPDATE {table} SET articles_count = ({count})
    WHERE id > last_key AND id <= batch_last;
    last_key := batch_last;
    COMMIT;
  END LOOP;
END
$$"""

USERS_COUNT = (
    "SELECT count(*) FROM articles"
    " WHERE articles.author_id = users.id AND articles.deleted_at IS NULL"
)
TAGS_COUNT = (
    "SELECT count(*) FROM article_tags JOIN articles ON articles.id = article_tags.article_id"
    " WHERE article_tags.tag_id = tags.id AND articles.deleted_at IS NULL"
)
TOTAL = "SELECT count(*) FROM articles WHERE deleted_at IS NULL"


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    postgresql = _on_postgresql()
    if postgresql:
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("SET LOCAL statement_timeout = '60s'")
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("value >= 0", name=op.f("ck_counters_value_non_negative")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
        **table_options(op.get_context().dialect),
    )
    for table in ("users", "tags"):
        op.add_column(
            table,
            sa.Column("articles_count", sa.Integer(), server_default="0", nullable=False),
        )
    # The total is one row: counted in the revision's transaction, with the table it lives in.
    op.execute(f"INSERT INTO counters (name, value) VALUES ('live_articles', ({TOTAL}))")  # noqa: S608 - constant SQL
    if not postgresql:
        # SQLite: one writer at a time anyway, and no DO blocks. MySQL: no DO blocks either;
        # one statement per table (row locks on the table until it commits).
        op.execute(f"UPDATE users SET articles_count = ({USERS_COUNT})")  # noqa: S608 - constant
        op.execute(f"UPDATE tags SET articles_count = ({TAGS_COUNT})")  # noqa: S608 - constant
        return
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
        op.execute("SET statement_timeout = 0")
        op.execute(
            BACKFILL.format(
                table="users",
                key_type="uuid",
                start="'00000000-0000-0000-0000-000000000000'",
                count=USERS_COUNT,
            )
        )
        op.execute(BACKFILL.format(table="tags", key_type="bigint", start="0", count=TAGS_COUNT))
        op.execute("RESET statement_timeout")
        op.execute("RESET lock_timeout")


def downgrade() -> None:
    if _on_postgresql():
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("SET LOCAL statement_timeout = '60s'")
    op.drop_column("tags", "articles_count")
    op.drop_column("users", "articles_count")
    op.drop_table("counters")
