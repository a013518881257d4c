"""The order of article lists, as a unique sort key that keyset (cursor) pages continue after.

Lists and the feed are newest first: ``(created_at, id)`` descending, the order the partial
index ``ix_articles_live_created_at (created_at, id) WHERE deleted_at IS NULL`` holds, so a
cursor page is one backward range scan of it at any depth. A ranked search (PostgreSQL's
``ts_rank``, MySQL's ``MATCH ... AGAINST`` relevance) puts the rank first, ``(rank,
created_at, id)``: its cursors are keyed on the rank too. Ranks
are computed, not indexed, so every page of a ranked search ranks all the matches (its cost
follows the number of matches, not the depth); a document's rank depends on the document and
the query only, so cursors stay stable while other articles come and go.

On SQLite the key holds ``created_at`` as the text SQLite stores: the database writes
millisecond times (``10:00:00.123``) while a bound datetime would be written with microseconds
(``10:00:00.123000``), and as text those compare unequal. The stored text compares with the
stored text exactly as ``ORDER BY`` sorts it. MariaDB and MySQL store a ``DATETIME`` and
read and bind it as a datetime, as PostgreSQL does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, type_coerce

from conduit.db.pagination import InvalidCursor, KeyValue, fits
from conduit.domain.articles.models import Article

# The label of the article id in the sort key (``id`` is the article's own column in a read).
ID_KEY = "id_key"


@dataclass(frozen=True, slots=True)
class ListOrder:
    """A unique sort key, all descending, with the name and value type of each column."""

    columns: tuple[ColumnElement[Any], ...]
    names: tuple[str, ...]
    shape: tuple[type, ...]

    def labelled(self) -> list[ColumnElement[Any]]:
        return [column.label(name) for column, name in zip(self.columns, self.names, strict=True)]

    def check(self, position: Sequence[KeyValue]) -> None:
        """Refuse a genuine cursor issued for another order (another dialect or sort key)."""
        if not fits(position, self.shape):
            raise InvalidCursor("another order")


def list_order(
    dialect: str,
    *,
    rank: ColumnElement[float] | None = None,
    keys: tuple[ColumnElement[Any], ColumnElement[Any]] | None = None,
) -> ListOrder:
    """The order of a list; ``keys``: the columns that hold the article's ``(created_at, id)``
    where the list reads a link table in list order (the same values, so the same cursors)."""
    created_at, article_id = keys or (Article.created_at.expression, Article.id.expression)
    created: ColumnElement[Any] = created_at
    created_type: type = dt.datetime
    if dialect == "sqlite":
        # Same SQL (the column itself), read and bound as the text SQLite holds.
        created, created_type = type_coerce(created_at, String), str
    columns: tuple[ColumnElement[Any], ...] = (created, article_id)
    names: tuple[str, ...] = ("created_key", ID_KEY)
    shape: tuple[type, ...] = (created_type, uuid.UUID)
    if rank is not None:
        columns, names, shape = (rank, *columns), ("rank", *names), (float, *shape)
    return ListOrder(columns=columns, names=names, shape=shape)
