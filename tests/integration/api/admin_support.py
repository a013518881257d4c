"""Helpers shared by the admin tests: rows written straight to the database, with chosen times."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from fastapi import FastAPI
from sqlalchemy import insert, update

from conduit.db.model import uuid7
from conduit.db.session import Database
from conduit.domain.articles import kept_counts
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.comments.models import Comment
from conduit.domain.tags import service as tagging
from conduit.domain.users.models import User
from tests.factories import MadeUser

LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _database(app: FastAPI) -> Database:
    database: Database = app.state.database
    return database


async def insert_article(
    app: FastAPI,
    author: MadeUser,
    *,
    slug: str | None = None,
    title: str = "A title",
    tags: Sequence[str] = (),
    created_at: dt.datetime | None = None,
    deleted_at: dt.datetime | None = None,
) -> uuid.UUID:
    """An article written straight to the table (so slugs and times can be chosen)."""
    article_id = uuid7()
    values: dict[str, object] = {
        "id": article_id,
        "slug": slug or f"article-{article_id.hex[-12:]}",
        "title": title,
        "description": "A description",
        "body": "A body",
        "author_id": author.user.id,
        "deleted_at": deleted_at,
    }
    if created_at is not None:
        values.update(created_at=created_at, updated_at=created_at)
    async with _database(app).unit_of_work() as session:
        await session.execute(insert(Article).values(**values))
        await tagging.attach(session, article_id=article_id, names=sorted(set(tags)))
        if deleted_at is None:
            await kept_counts.went_live(session, article_id=article_id, author_id=author.user.id)
    return article_id


async def insert_comment(
    app: FastAPI,
    author: MadeUser,
    article_id: uuid.UUID,
    *,
    created_at: dt.datetime | None = None,
    deleted_at: dt.datetime | None = None,
) -> None:
    values: dict[str, object] = {
        "body": "A comment",
        "article_id": article_id,
        "author_id": author.user.id,
        "deleted_at": deleted_at,
    }
    if created_at is not None:
        values.update(created_at=created_at, updated_at=created_at)
    async with _database(app).unit_of_work() as session:
        await session.execute(insert(Comment).values(**values))


async def insert_favorites(app: FastAPI, article_id: uuid.UUID, *fans: MadeUser) -> None:
    """Favorites written straight to the table, the article's kept count moved with them (live
    or deleted: it counts every favorite of the article)."""
    async with _database(app).unit_of_work() as session:
        await session.execute(
            insert(Favorite).values(
                [{"user_id": f.user.id, "article_id": article_id} for f in fans]
            )
        )
        await session.execute(
            update(Article)
            .where(Article.id == article_id)
            .values(
                favorites_count=Article.favorites_count + len(fans), updated_at=Article.updated_at
            )
        )


async def backdate(app: FastAPI, *users: MadeUser, to: dt.datetime = LONG_AGO) -> None:
    """Make the accounts look as if they signed up at ``to``."""
    async with _database(app).unit_of_work() as session:
        await session.execute(
            update(User)
            .where(User.id.in_([u.user.id for u in users]))
            .values(created_at=to, updated_at=to)
        )
