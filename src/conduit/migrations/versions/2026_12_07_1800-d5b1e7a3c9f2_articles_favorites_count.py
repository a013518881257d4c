"""Favorites counted per article: a page reads each article's count instead of counting.

Revision ID: d5b1e7a3c9f2
Revises: c4a8f2e6d1b9
Create Date: 2026-12-07 18:00:00.000000+00:00

Reviewed. Every article a read shows carries its ``favoritesCount``, computed per row as a
count of its favorites: a page of 20 popular articles read every favorite of each of them.
From this revision on the count is kept, exact, by the writes that change it
(``conduit.domain.articles.kept_counts``), and a read takes it from the article's row:

- ``articles.favorites_count``: ``INTEGER NOT NULL DEFAULT 0`` (a catalog change only on
  PostgreSQL 11 and later, and an instant one on MySQL 8 and MariaDB 10.3 and later), every
  favorite of the article, whoever gave it and whether the article is live or not: what the
  per-row count counted, so every answer stays the same.
- The backfill counts the existing favorites in batches of 5,000 articles along
  ``articles.id``, each committed on its own: no long transaction, no table-wide row locks.
  Each batch reads the favorites of its range of articles through ``favorites``' index on
  ``article_id`` and writes only the articles that have any (the others keep the default 0).
  PostgreSQL runs the batches in a DO block outside the revision's transaction (the pattern of
  the counts revision); MySQL, which has no anonymous blocks, runs them one statement each,
  the bounds read between them (rendered offline, one statement). SQLite counts in one
  statement.

Deploying: instances of the previous version favorite without moving the count while they
drain; once the last has stopped, run ``conduit db recount``, which repairs every differing
count (``recount --check`` reports them).

Reversible: the downgrade drops the column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "d5b1e7a3c9f2"
down_revision: str | Sequence[str] | None = "c4a8f2e6d1b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One statement per batch of articles, committed on its own by the DO block (it runs outside a
# transaction). The last key of a batch is found with ORDER BY ... LIMIT 1 (PostgreSQL has no
# max(uuid) before 16).
BACKFILL = """\
DO $$
DECLARE
  last_key uuid := '00000000-0000-0000-0000-000000000000';
  batch_last uuid;
BEGIN
  LOOP
    SELECT id INTO batch_last
    FROM (SELECT id FROM articles WHERE id > last_key ORDER BY id LIMIT 5000) AS batch
    ORDER BY id DESC LIMIT 1;
    EXIT WHEN batch_last IS NULL;
    UPDATE articles SET favorites_count = counted.n
    FROM (
      SELECT article_id, count(*) AS n FROM favorites
      WHERE article_id > last_key AND article_id <= batch_last
      GROUP BY article_id
    ) AS counted
    WHERE articles.id = counted.article_id AND articles.favorites_count <> counted.n;
    last_key := batch_last;
    COMMIT;
  END LOOP;
END
$$"""

# MySQL: the same batch as one multi-table UPDATE, between two bounds (or from the first
# only, for the last batch).
MYSQL_BATCH = """\
UPDATE articles JOIN (
  SELECT article_id, count(*) AS n FROM favorites
  WHERE article_id > :low{upper}
  GROUP BY article_id
) AS counted ON counted.article_id = articles.id
SET articles.favorites_count = counted.n
WHERE articles.favorites_count <> counted.n"""
# The last key of the batch after ``low``: none when fewer than a batch of articles remain.
MYSQL_BOUND = "SELECT id FROM articles WHERE id > :low ORDER BY id LIMIT 1 OFFSET 4999"

# SQLite (one writer at a time anyway), and MySQL rendered offline.
COUNT = (
    "UPDATE articles SET favorites_count ="
    " (SELECT count(*) FROM favorites WHERE favorites.article_id = articles.id)"
)


def _dialect() -> str:
    return str(op.get_context().dialect.name)


def upgrade() -> None:
    dialect = _dialect()
    if dialect == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("SET LOCAL statement_timeout = '60s'")
    op.add_column(
        "articles", sa.Column("favorites_count", sa.Integer(), server_default="0", nullable=False)
    )
    if dialect == "postgresql":
        # The committing DO block cannot run inside a transaction: step out.
        with op.get_context().autocommit_block():
            op.execute("SET lock_timeout = '5s'")
            op.execute("SET statement_timeout = 0")
            op.execute(BACKFILL)
            op.execute("RESET statement_timeout")
            op.execute("RESET lock_timeout")
    elif dialect == "mysql" and not context.is_offline_mode():
        with op.get_context().autocommit_block():
            _count_in_batches_on_mysql()
    else:
        op.execute(COUNT)


def _count_in_batches_on_mysql() -> None:
    """The backfill, one committed statement per batch of articles (autocommit)."""
    bind = op.get_bind()
    low = bytes(16)  # below every BINARY(16) key
    while True:
        high = bind.execute(sa.text(MYSQL_BOUND), {"low": low}).scalar()
        if high is None:
            bind.execute(sa.text(MYSQL_BATCH.format(upper="")), {"low": low})
            return
        bind.execute(
            sa.text(MYSQL_BATCH.format(upper=" AND article_id <= :high")),
            {"low": low, "high": high},
        )
        low = high


def downgrade() -> None:
    if _dialect() == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("SET LOCAL statement_timeout = '60s'")
    op.drop_column("articles", "favorites_count")
