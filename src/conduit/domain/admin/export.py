"""Exporting every live article, streamed from a server-side cursor.

One statement reads the articles with everything an exported line shows: the author through a
join, the favorites count from the article's row (kept), the sorted tag names and the comment
count as correlated subqueries, so nothing runs per row. It is ordered by ``(created_at, id)``,
which is exactly the partial index ``ix_articles_live_created_at``: PostgreSQL walks the index
and hands rows over as it finds them, with no sort that would have to read the whole table
before the first row.

:func:`export_articles` owns its connection for as long as the export runs, apart from any unit
of work: a request's unit of work ends before its response is streamed. On PostgreSQL the
transaction is ``REPEATABLE READ READ ONLY``, so the export is one consistent snapshot however
long it takes; on MariaDB and MySQL it is ``REPEATABLE READ`` (InnoDB's consistent read: one
snapshot) and the rows come through the driver's unbuffered cursor; on SQLite a read
transaction in WAL mode already is one. Rows arrive in batches
of ``batch_size`` (``yield_per``), so memory holds one batch, not the table. Closing the
generator early (a client that goes away) rolls back and hands the connection back at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

from sqlalchemy import Select, TextClause, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from conduit.db import rows as by_label
from conduit.db.engine import transaction_statement_timeout
from conduit.db.errors import translate
from conduit.db.mysql import is_mariadb
from conduit.domain.articles.models import Article
from conduit.domain.comments.models import Comment
from conduit.domain.tags.service import tag_list_of
from conduit.domain.users.models import User

BATCH_SIZE = 1000


class ExportedArticle(NamedTuple):
    """One exported article: the export statement's columns, by label."""

    slug: str
    title: str
    description: str
    body: str
    author: str
    tag_list: list[str]
    favorites_count: int
    comments_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


def export_statement() -> Select[Any]:
    """Every live article with its author, tags and counts, oldest first."""
    comments = (
        select(func.count())
        .select_from(Comment)
        .where(Comment.article_id == Article.id, Comment.deleted_at.is_(None))
        .scalar_subquery()
    )
    return (
        select(
            Article.slug,
            Article.title,
            Article.description,
            Article.body,
            User.username.label("author"),
            tag_list_of(Article.id).label("tag_list"),
            Article.favorites_count,
            comments.label("comments_count"),
            Article.created_at,
            Article.updated_at,
        )
        .join(User, User.id == Article.author_id)
        .where(Article.deleted_at.is_(None))
        .order_by(Article.created_at, Article.id)
    )


async def export_articles(
    engine: AsyncEngine, *, batch_size: int = BATCH_SIZE, statement_timeout_ms: int | None = None
) -> AsyncGenerator[Sequence[ExportedArticle], None]:
    """Every live article, oldest first, in batches of at most ``batch_size``: 1 statement.

    The statement runs for as long as the client reads: ``statement_timeout_ms`` replaces the
    engine's (a request's) limit for it on PostgreSQL and MySQL (0: none). Database failures
    are raised translated (:mod:`conduit.db.errors`), as a unit of work would raise them.
    """
    try:
        async with snapshot(engine, statement_timeout_ms=statement_timeout_ms) as conn:
            statement = export_statement().execution_options(yield_per=batch_size)
            result = await conn.stream(statement)
            read = by_label.columns(result.keys(), ExportedArticle._fields)
            async for batch in result.partitions():
                yield [ExportedArticle(*read(row)) for row in batch]
    # Everything in the block is database work, so an OSError here is the driver's.
    except (SQLAlchemyError, OSError) as exc:
        raise translate(exc) from exc


@asynccontextmanager
async def snapshot(
    engine: AsyncEngine, *, statement_timeout_ms: int | None = None
) -> AsyncIterator[AsyncConnection]:
    """A connection of its own inside a read-only snapshot transaction, closed on exit."""
    conn = await engine.connect()
    try:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        elif conn.dialect.name == "mysql":
            # InnoDB's REPEATABLE READ: one snapshot from the first read (the engine's default
            # is READ COMMITTED, a snapshot per statement).
            await conn.execution_options(isolation_level="REPEATABLE READ")
        await conn.begin()
        if conn.dialect.name == "mysql":
            # Before the first read, when InnoDB starts the transaction.
            await conn.execute(_mysql_session(conn, statement_timeout_ms))
        if statement_timeout_ms is not None and conn.dialect.name == "postgresql":
            # Local to the transaction: the pooled connection keeps the request limit.
            await conn.execute(transaction_statement_timeout(statement_timeout_ms))
        yield conn
    finally:
        # Closing rolls the transaction back and returns the connection to the pool, where
        # its isolation level and read-only flag are reset. On MySQL the session's own
        # settings changed (see _mysql_session), so the connection is discarded instead: an
        # export is rare, a fresh connection cheap. Shielded: a caller cancelled meanwhile (a
        # server shutting down) must not cut the clean-up short.
        if conn.dialect.name == "mysql":
            await asyncio.shield(conn.invalidate())
        await asyncio.shield(conn.close())


def _mysql_session(conn: AsyncConnection, statement_timeout_ms: int | None) -> TextClause:
    """One SET for an export's MySQL session: read only, and ``statement_timeout_ms`` (0: no
    limit) instead of the engine's limit, which would end a long export mid-stream (the
    statement runs until its last row is read). MariaDB and MySQL name them differently."""
    mariadb = is_mariadb(conn.dialect)
    settings = ["tx_read_only = 1" if mariadb else "transaction_read_only = 1"]
    if statement_timeout_ms is not None:
        if mariadb:
            settings.append(f"max_statement_time = {statement_timeout_ms / 1000:g}")
        else:
            settings.append(f"max_execution_time = {int(statement_timeout_ms)}")
    return text("SET SESSION " + ", ".join(settings))
