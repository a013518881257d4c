"""Search: a weighted full-text vector on articles, trigram indexes on usernames.

Revision ID: aa6fa5ba95f0
Revises: 3ada86ad67da
Create Date: 2026-11-22 04:00:00.000000+00:00

Reviewed. SQLite searches with LIKE and gets only the column, as TEXT that stays NULL, so the
table has one shape on both dialects; everything else here is PostgreSQL's (the models mark the
two indexes ``postgresql_only`` for the drift check).

- ``articles.search_vector``: a plain nullable ``tsvector`` column (title weighted A,
  description B, body C, English configuration) kept up to date by a ``BEFORE INSERT OR UPDATE
  OF title, description, body`` trigger. Not ``GENERATED ALWAYS AS ... STORED``: adding a
  stored generated column rewrites the whole table under an ACCESS EXCLUSIVE lock, which blocks
  every read and write of a live ``articles`` table for as long as that takes. A nullable
  column without a default is a catalog change only. The trigger fires only for an UPDATE
  that sets one of the three sources (a soft delete does not recompute the vector).
- The existing rows are backfilled outside the migration's transaction, in batches of 5,000
  along the primary key, each committed on its own: no long transaction, no table-wide row
  locks; rows written meanwhile are filled by the trigger and skipped.
- ``ix_articles_search_vector``: GIN over live articles only (every search reads live ones).
- ``ix_users_username_trgm``: GIN ``gin_trgm_ops`` over ``users.username`` for the profile
  search (``username ILIKE '%q%'``), which no B-tree can serve. It needs the ``pg_trgm``
  extension, created here if missing. pg_trgm is a *trusted* extension since PostgreSQL 13: any
  role with CREATE on the database (the migration role owns the schema) may create it, no
  superuser needed, and every managed PostgreSQL offers it. On PostgreSQL 12 and older a
  superuser must run ``CREATE EXTENSION pg_trgm`` once before this revision.
- Both indexes are built CONCURRENTLY (writes continue), each after dropping a leftover invalid
  one from an interrupted run. Every step is rerunnable (IF [NOT] EXISTS, OR REPLACE), so
  rerunning an interrupted upgrade finishes the job.

MySQL/MariaDB: ``search_vector`` is TEXT and stays NULL, as on SQLite, and search reads
``ix_articles_fulltext``, a ``FULLTEXT`` index over title, description and body (natural
language mode). The index matches words by its columns' collation, so the three columns first
take a case- and accent-folding ``NO PAD`` one (``conduit.db.mysql.search_collation``; the
binary table collation would make ``Wyvern`` and ``wyvern`` two words): that copies the table
once, blocking writes while it runs. The first FULLTEXT index of a table rebuilds it once more
(InnoDB adds a hidden document id), with writes allowed meanwhile on MariaDB 10.11 and MySQL 8.
The downgrade restores the binary collation. There is no stand-in for the trigram index: the
profile search scans ``users``.

Reversible: the downgrade drops both indexes concurrently, then the trigger, its function and
the column. It leaves the pg_trgm extension installed: other schemas in the database may use
it, and an extension left in place is harmless.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from conduit.db.mysql import search_collation, table_collation

revision: str = "aa6fa5ba95f0"
down_revision: str | Sequence[str] | None = "3ada86ad67da"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARTICLES_INDEX = "ix_articles_search_vector"
USERS_INDEX = "ix_users_username_trgm"

# The weighted search document of the row being written.
CREATE_FUNCTION = """\
CREATE OR REPLACE FUNCTION articles_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_vector :=
    setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(NEW.description, '')), 'B')
    || setweight(to_tsvector('english', coalesce(NEW.body, '')), 'C');
  RETURN NEW;
END
$$"""

CREATE_TRIGGER = """\
CREATE TRIGGER articles_search_vector
BEFORE INSERT OR UPDATE OF title, description, body ON articles
FOR EACH ROW EXECUTE FUNCTION articles_search_vector()"""

# The same document for the rows written before the trigger, 5,000 at a time along the key.
# A DO block may COMMIT when it runs outside a transaction: one commit per batch. (The last
# key of a batch is found with ORDER BY ... LIMIT 1: PostgreSQL has no max(uuid) before 16.)
BACKFILL = """\
DO $$
DECLARE
  last_id uuid := '00000000-0000-0000-0000-000000000000';
  batch_last uuid;
BEGIN
  LOOP
    SELECT id INTO batch_last
    FROM (SELECT id FROM articles WHERE id > last_id ORDER BY id LIMIT 5000) AS batch
    ORDER BY id DESC LIMIT 1;
    EXIT WHEN batch_last IS NULL;
    UPDATE articles SET search_vector =
      setweight(to_tsvector('english', coalesce(title, '')), 'A')
      || setweight(to_tsvector('english', coalesce(description, '')), 'B')
      || setweight(to_tsvector('english', coalesce(body, '')), 'C')
    WHERE id > last_id AND id <= batch_last AND search_vector IS NULL;
    last_id := batch_last;
    COMMIT;
  END LOOP;
END
$$"""


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


FULLTEXT_INDEX = "ix_articles_fulltext"


def _on_mysql() -> bool:
    return op.get_context().dialect.name == "mysql"


def _collate_searched_columns(collation: str) -> None:
    """Give title, description and body ``collation`` (their types and nullability kept)."""
    op.execute(
        "ALTER TABLE articles"
        f" MODIFY title VARCHAR(255) NOT NULL COLLATE {collation},"
        f" MODIFY description VARCHAR(1000) NOT NULL COLLATE {collation},"
        f" MODIFY body MEDIUMTEXT NOT NULL COLLATE {collation}"
    )


def upgrade() -> None:
    if not _on_postgresql():
        op.add_column("articles", sa.Column("search_vector", sa.Text(), nullable=True))
        if _on_mysql():
            _collate_searched_columns(search_collation(op.get_context().dialect))
            op.create_index(
                FULLTEXT_INDEX,
                "articles",
                ["title", "description", "body"],
                mysql_prefix="FULLTEXT",
            )
        return
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # Rerunnable: a run interrupted after this transaction committed is simply run again.
    op.add_column(
        "articles",
        sa.Column("search_vector", postgresql.TSVECTOR(), nullable=True),
        if_not_exists=True,
    )
    op.execute(CREATE_FUNCTION)
    op.execute("DROP TRIGGER IF EXISTS articles_search_vector ON articles")
    op.execute(CREATE_TRIGGER)
    # From here on every new or edited article gets its vector: the rows before it need one.
    with op.get_context().autocommit_block():
        # Session settings (SET LOCAL needs a transaction). Each batch and each concurrent build
        # blocks no writes, so they may take their time once they have their locks.
        op.execute("SET lock_timeout = '5s'")
        op.execute("SET statement_timeout = 0")
        op.execute(BACKFILL)
        for name, table in ((ARTICLES_INDEX, "articles"), (USERS_INDEX, "users")):
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
        op.create_index(
            ARTICLES_INDEX,
            "articles",
            ["search_vector"],
            postgresql_using="gin",
            postgresql_where=sa.text("deleted_at IS NULL"),
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.create_index(
            USERS_INDEX,
            "users",
            ["username"],
            postgresql_using="gin",
            postgresql_ops={"username": "gin_trgm_ops"},
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.execute("RESET statement_timeout")
        op.execute("RESET lock_timeout")


def downgrade() -> None:
    if not _on_postgresql():
        if _on_mysql():
            op.drop_index(FULLTEXT_INDEX, table_name="articles")
            _collate_searched_columns(table_collation(op.get_context().dialect))
        op.drop_column("articles", "search_vector")
        return
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
        for name, table in ((USERS_INDEX, "users"), (ARTICLES_INDEX, "articles")):
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
        op.execute("RESET lock_timeout")
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("DROP TRIGGER IF EXISTS articles_search_vector ON articles")
    op.execute("DROP FUNCTION IF EXISTS articles_search_vector()")
    op.drop_column("articles", "search_vector")
