"""Lists in O(page): tag links and favorites in list order, favorites counted per user.

Revision ID: c4a8f2e6d1b9
Revises: b7d2c4e9f1a3
Create Date: 2026-12-07 17:00:00.000000+00:00

Reviewed. A page of ``?tag=`` or ``?favorited=`` read every matching article (``articles.id IN
(SELECT article_id FROM article_tags ...)``) and sorted them: at 100k articles, a popular tag's
page read 37k rows. With the article's ``created_at`` copied onto each tag link and each
favorite (it never changes), an index on ``(tag_id, article_created_at, article_id)`` and one
on ``(user_id, article_created_at, article_id)`` hold each filter's articles in list order,
and a page is one backward range scan that stops after the page
(``conduit.domain.articles.filters.Link``):

- ``article_tags.article_created_at`` and ``favorites.article_created_at``: nullable, no
  default, so adding them is a catalog change only (the ACCESS EXCLUSIVE lock held for an
  instant, bounded by ``lock_timeout``). The writes fill them from this version on.
- The backfill copies ``articles.created_at`` outside the revision's transaction, in batches of
  5,000 articles along ``articles.id``, each committed on its own: no long transaction, no
  table-wide row locks (the pattern of the counts revision).
- The indexes are built CONCURRENTLY (writes continue), each step rerunnable (a leftover
  invalid index dropped first). The new tag index leads with ``tag_id``, so it serves what
  ``ix_article_tags_tag_id`` did (the foreign key's cascade from tags), which is dropped.

- ``users.favorites_count``: ``INTEGER NOT NULL DEFAULT 0`` (a catalog change only), the live
  articles each user favorited, so the favorited filter's total is read, not counted. Backfilled
  in batches of 5,000 users, as the counts revision did ``users.articles_count``.

Deploying: instances of the previous version write links and favorites without the copy while
they drain (those rows sort apart until then) and favorite without the count; once the last
has stopped, run ``conduit db recount``, which copies every missing or differing value and
recounts (``recount --check`` reports them).

SQLite and MySQL copy and count in one statement per table, in the revision's transaction.

Reversible: the downgrade restores ``ix_article_tags_tag_id`` and drops the new indexes and
columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from conduit.db.model import UTCDateTime

revision: str = "c4a8f2e6d1b9"
down_revision: str | Sequence[str] | None = "b7d2c4e9f1a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMN = "article_created_at"
TAG_ORDER = "ix_article_tags_tag_created_at"
PLAIN_TAG = "ix_article_tags_tag_id"
FAVORITE_ORDER = "ix_favorites_user_created_at"
INDEXES = {
    TAG_ORDER: ("article_tags", ["tag_id", COLUMN, "article_id"]),
    PLAIN_TAG: ("article_tags", ["tag_id"]),
    FAVORITE_ORDER: ("favorites", ["user_id", COLUMN, "article_id"]),
}

# One statement per batch of articles, committed on its own by the DO block (it runs outside a
# transaction). ``{table}`` names the table whose rows get their article's created_at.
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
    UPDATE {table} AS link SET article_created_at = articles.created_at
    FROM articles
    WHERE articles.id = link.article_id AND articles.id > last_key AND articles.id <= batch_last
      AND link.article_created_at IS DISTINCT FROM articles.created_at;
    last_key := batch_last;
    COMMIT;
  END LOOP;
END
$$"""

# The same along users.id, for the users' favorite counts.
COUNT_FAVORITES = """\
DO $$
DECLARE
  last_key uuid := '00000000-0000-0000-0000-000000000000';
  batch_last uuid;
BEGIN
  LOOP
    SELECT id INTO batch_last
    FROM (SELECT id FROM users WHERE id > last_key ORDER BY id LIMIT 5000) AS batch
    ORDER BY id DESC LIMIT 1;
    EXIT WHEN batch_last IS NULL;
    UPDATE users SET favorites_count = ({count})
    WHERE id > last_key AND id <= batch_last;
    last_key := batch_last;
    COMMIT;
  END LOOP;
END
$$"""
FAVORITES = (
    "SELECT count(*) FROM favorites JOIN articles ON articles.id = favorites.article_id"
    " WHERE favorites.user_id = users.id AND articles.deleted_at IS NULL"
)

# SQLite: one writer at a time anyway, and no DO blocks.
COPY = (
    "UPDATE {table} SET article_created_at ="
    " (SELECT created_at FROM articles WHERE articles.id = {table}.article_id)"
)


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _create(name: str) -> None:
    table, columns = INDEXES[name]
    if not _on_postgresql():
        op.create_index(name, table, columns)
        return
    op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
    op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)


def _drop(name: str) -> None:
    table, _ = INDEXES[name]
    if not _on_postgresql():
        op.drop_index(name, table_name=table)
        return
    op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


def upgrade() -> None:
    postgresql = _on_postgresql()
    if postgresql:
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("SET LOCAL statement_timeout = '60s'")
    for table in ("article_tags", "favorites"):
        op.add_column(table, sa.Column(COLUMN, UTCDateTime(), nullable=True))
    op.add_column(
        "users", sa.Column("favorites_count", sa.Integer(), server_default="0", nullable=False)
    )
    if not postgresql:
        for table in ("article_tags", "favorites"):
            op.execute(COPY.format(table=table))
        op.execute(f"UPDATE users SET favorites_count = ({FAVORITES})")  # noqa: S608 - constant
        for name in (TAG_ORDER, FAVORITE_ORDER):
            _create(name)
        _drop(PLAIN_TAG)
        return
    # CONCURRENTLY and the committing DO blocks cannot run inside a transaction: step out.
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
        op.execute("SET statement_timeout = 0")
        for table in ("article_tags", "favorites"):
            op.execute(BACKFILL.format(table=table))
        op.execute(COUNT_FAVORITES.format(count=FAVORITES))
        for name in (TAG_ORDER, FAVORITE_ORDER):
            _create(name)
        _drop(PLAIN_TAG)
        op.execute("RESET statement_timeout")
        op.execute("RESET lock_timeout")


def downgrade() -> None:
    postgresql = _on_postgresql()
    if postgresql:
        with op.get_context().autocommit_block():
            op.execute("SET lock_timeout = '5s'")
            op.execute("SET statement_timeout = 0")
            _create(PLAIN_TAG)
            _drop(TAG_ORDER)
            _drop(FAVORITE_ORDER)
            op.execute("RESET statement_timeout")
            op.execute("RESET lock_timeout")
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("SET LOCAL statement_timeout = '60s'")
    else:
        _create(PLAIN_TAG)
        _drop(TAG_ORDER)
        _drop(FAVORITE_ORDER)
    op.drop_column("users", "favorites_count")
    for table in ("article_tags", "favorites"):
        op.drop_column(table, COLUMN)
