"""Tags: normalising names, upserting them, linking them to articles, and listing the live ones.

Tags are upserted with ``INSERT ... ON CONFLICT (name) DO NOTHING`` and then linked by name in
one ``INSERT ... SELECT``: two concurrent articles with the same new tag both end up linked to
one row, because the second insert waits for the first's unique-index entry and then skips it.
Names are inserted in sorted order, so two transactions never take those locks in opposite
orders (no deadlock).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnExpressionArgument,
    Dialect,
    Executable,
    ScalarSelect,
    Select,
    String,
    TypeDecorator,
    bindparam,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

from conduit.db.dialect import dialect_insert, insert_for
from conduit.db.model import CompactUuid
from conduit.domain.articles.models import Article
from conduit.domain.errors import BLANK, InvalidError
from conduit.domain.tags.models import NAME_MAX, ArticleTag, Tag

SUBJECT = "tagList"


def normalise(names: Iterable[str]) -> list[str]:
    """Trimmed, distinct and sorted, as stored and returned; blank or long names are invalid."""
    cleaned = {name.strip() for name in names}
    if "" in cleaned:
        raise InvalidError(SUBJECT, BLANK)
    if any(len(name) > NAME_MAX for name in cleaned):
        raise InvalidError(SUBJECT, f"is too long (maximum is {NAME_MAX} characters)")
    return sorted(cleaned)


async def attach(session: AsyncSession, *, article_id: uuid.UUID, names: Sequence[str]) -> None:
    """Link ``names`` (already normalised) to a new article, creating missing tags: 2
    statements."""
    if not names:
        return
    await _upsert(session, names=names)
    connection = await session.connection()
    await connection.execute(_LINK_NEW, {"article_id": article_id, "names": list(names)})


@dataclass(frozen=True, slots=True)
class Retagged:
    """The tag ids whose links to the article this call deleted, and those it inserted."""

    removed: list[int]
    added: list[int]


async def retag(session: AsyncSession, *, article_id: uuid.UUID, names: Sequence[str]) -> Retagged:
    """Make ``names`` (already normalised) the article's tags: 3 statements, 1 to clear them.

    Only the difference is written: ``DELETE ... RETURNING`` the links to other tags, then
    ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` the missing ones. What they return is what
    changed, whatever another writer did between the caller's read and these statements, so
    counts moved by it stay exact.
    """
    if names:
        await _upsert(session, names=names)
    kept = select(Tag.id).where(Tag.name.in_(names))
    removed = await session.execute(
        delete(ArticleTag)
        .where(ArticleTag.article_id == article_id, ArticleTag.tag_id.not_in(kept))
        .returning(ArticleTag.tag_id)
        .execution_options(synchronize_session=False)
    )
    removed_ids = sorted(removed.scalars())
    if not names:
        return Retagged(removed=removed_ids, added=[])
    added = await session.execute(
        dialect_insert(session, ArticleTag)
        .from_select(_LINK_COLUMNS, _links(article_id, names))
        .on_conflict_do_nothing()
        .returning(ArticleTag.tag_id)
    )
    return Retagged(removed=removed_ids, added=sorted(added.scalars()))


async def _upsert(session: AsyncSession, *, names: Sequence[str]) -> None:
    # One statement for all the names (executemany: one round trip), in their sorted order. A
    # multi-row VALUES would be compiled afresh on every call: SQLAlchemy cannot cache one.
    connection = await session.connection()
    await connection.execute(
        _upsert_statement(connection.dialect.name), [{"name": name} for name in names]
    )


@functools.lru_cache(maxsize=4)
def _upsert_statement(dialect: str) -> Executable:
    upsert = insert_for(dialect, Tag).values(name=bindparam("name"))
    if dialect == "mysql":
        # Not INSERT IGNORE: it checks a duplicate with a shared lock, which the count's update
        # of the tag must then upgrade, and two writers of one tag would deadlock. Setting the
        # name to itself takes the exclusive lock at once: they queue, in name order.
        return upsert.on_conflict_do_update(index_elements=[Tag.name], set_={"name": Tag.name})
    return upsert.on_conflict_do_nothing(index_elements=[Tag.name])


_LINK_COLUMNS = [ArticleTag.article_id, ArticleTag.tag_id, ArticleTag.article_created_at]


def _links(
    article_id: uuid.UUID | BindParameter[uuid.UUID],
    names: Sequence[str] | BindParameter[Any],
) -> Select[uuid.UUID, int, dt.datetime]:
    """The links of the article to the tags ``names``, with the article's list order."""
    # The WHERE also keeps SQLite's parser from reading ON CONFLICT as a join's ON.
    return (
        select(Article.id, Tag.id, Article.created_at)
        .join(Tag, Tag.name.in_(names))
        .where(Article.id == article_id)
    )


# A new article's links, built once (every publish with tags sends it).
_LINK_NEW = insert(ArticleTag).from_select(
    _LINK_COLUMNS,
    _links(
        bindparam("article_id", type_=CompactUuid()),
        bindparam("names", expanding=True),
    ),
)


async def list_live(session: AsyncSession) -> list[str]:
    """Names of the tags used by at least one live article, sorted: 1 statement.

    ``articles_count`` is kept by the writes (:mod:`conduit.domain.articles.kept_counts`), so this
    reads the tags table alone instead of probing the articles of every tag.
    """
    connection = await session.connection()
    return list((await connection.execute(_LIVE_NAMES)).scalars())


# Built once: the tag list is read on every front page.
_LIVE_NAMES = select(Tag.name).where(Tag.articles_count > 0).order_by(Tag.name)


class _SortedNames(TypeDecorator[list[str]]):
    """The result of :class:`sorted_names`: a text[] on PostgreSQL, a JSON array elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(String()))
        return dialect.type_descriptor(String())

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str]:
        if value is None:  # array_agg over no rows
            return []
        if isinstance(value, str):
            # SQLite before 3.44 and MySQL have no ORDER BY inside this aggregate: sort here.
            return sorted(json.loads(value))
        return list(value)


class sorted_names(FunctionElement[list[str]]):  # noqa: N801 - reads as the SQL it renders
    """Aggregate a name column into a list sorted by name (``array_agg`` / ``json_group_array``)."""

    type = _SortedNames()
    inherit_cache = True


@compiles(sorted_names, "postgresql")
def _sorted_names_pg(element: sorted_names, compiler: SQLCompiler, **kw: Any) -> str:
    argument = compiler.process(element.clauses, **kw)
    return f"array_agg({argument} ORDER BY {argument})"


@compiles(sorted_names, "mysql")
def _sorted_names_mysql(element: sorted_names, compiler: SQLCompiler, **kw: Any) -> str:
    # MariaDB's JSON_ARRAYAGG takes ORDER BY, MySQL's does not: sorted in Python for both.
    return f"JSON_ARRAYAGG({compiler.process(element.clauses, **kw)})"


@compiles(sorted_names)
def _sorted_names_default(element: sorted_names, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


def tag_list_of(article_id: ColumnExpressionArgument[uuid.UUID]) -> ScalarSelect[list[str]]:
    """A correlated scalar subquery: the sorted tag names of the article ``article_id`` names.

    Each link's name is its own primary-key lookup: joined, the planner hashes the whole tags
    table for each article of a page (it is small, but that is every tag read per article)."""
    name = select(Tag.name).where(Tag.id == ArticleTag.tag_id).scalar_subquery()
    return (
        select(sorted_names(name))
        .select_from(ArticleTag)
        .where(ArticleTag.article_id == article_id)
        .scalar_subquery()
    )
