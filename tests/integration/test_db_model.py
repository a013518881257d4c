"""The model mixins against a real database: keys, database-set timestamps, soft delete."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from sqlalchemy import select, text, update

from conduit.db.errors import Conflict, DatabaseError
from conduit.db.instrument import allow_repeats
from conduit.db.session import Database
from conduit.domain.articles.models import Article
from conduit.domain.comments.models import Comment
from conduit.domain.users.models import User


def new_user() -> User:
    name = f"u{uuid.uuid4().hex[:12]}"
    return User(email=f"{name}@example.com", username=name, password_hash="x")


async def test_uuid_keys_are_version_7_and_round_trip(database: Database) -> None:
    user = new_user()
    async with database.unit_of_work() as session:
        session.add(user)
    assert user.id.version == 7
    async with database.unit_of_work() as session:
        loaded = await session.get_one(User, user.id)
        assert loaded.id == user.id
        assert isinstance(loaded.id, uuid.UUID)


async def test_uuid_keys_sort_in_insertion_order_in_the_database(database: Database) -> None:
    users = [new_user() for _ in range(50)]
    # One INSERT per flush on purpose (the keys must sort in the order rows arrive).
    with allow_repeats():
        async with database.unit_of_work() as session:
            for user in users:
                session.add(user)
                await session.flush()
    async with database.unit_of_work() as session:
        ids = await session.scalars(
            select(User.id).where(User.id.in_([u.id for u in users])).order_by(User.id)
        )
        assert list(ids) == [u.id for u in users]


async def test_identity_keys_are_assigned_by_the_database(database: Database) -> None:
    author = new_user()
    async with database.unit_of_work() as session:
        session.add(author)
        await session.flush()
        post = Article(slug="s", title="t", description="d", body="b", author_id=author.id)
        session.add(post)
        await session.flush()
        first = Comment(body="one", article_id=post.id, author_id=author.id)
        second = Comment(body="two", article_id=post.id, author_id=author.id)
        session.add_all([first, second])
        await session.flush()
    assert isinstance(first.id, int)
    assert second.id > first.id


async def test_timestamps_come_back_aware_utc_with_sub_second_precision(
    database: Database,
) -> None:
    users = []
    for _ in range(3):
        user = new_user()
        async with database.unit_of_work() as session:
            session.add(user)
        users.append(user)
        await asyncio.sleep(0.02)
    async with database.unit_of_work() as session:
        rows = (
            await session.execute(
                select(User.created_at, User.updated_at)
                .where(User.id.in_([u.id for u in users]))
                .order_by(User.id)
            )
        ).all()
    now = dt.datetime.now(dt.UTC)
    created = [row.created_at for row in rows]
    for row in rows:
        for value in row:
            assert value.tzinfo is not None
            assert value.utcoffset() == dt.timedelta(0)
            assert abs(now - value) < dt.timedelta(minutes=1)
    # Three inserts 20 ms apart: whole-second timestamps could not tell them apart.
    assert created == sorted(created)
    assert len(set(created)) == 3
    assert created[-1] - created[0] < dt.timedelta(seconds=1)


async def test_timestamps_are_available_right_after_the_flush(database: Database) -> None:
    async with database.unit_of_work() as session:
        user = new_user()
        session.add(user)
        await session.flush()
        # Fetched with RETURNING in the INSERT: no lazy load (which async cannot do).
        assert user.created_at.tzinfo is not None
        assert user.updated_at == user.created_at


async def test_updated_at_changes_on_update_and_created_at_does_not(database: Database) -> None:
    user = new_user()
    async with database.unit_of_work() as session:
        session.add(user)
    created_at, updated_at = user.created_at, user.updated_at
    await asyncio.sleep(0.02)
    async with database.unit_of_work() as session:
        loaded = await session.get_one(User, user.id)
        loaded.credits = 5
        await session.flush()
        # The new value came back with the UPDATE: readable at once, in async code.
        assert loaded.updated_at > updated_at
        assert loaded.created_at == created_at
    async with database.unit_of_work() as session:
        row = (
            await session.execute(
                select(User.created_at, User.updated_at).where(User.id == user.id)
            )
        ).one()
    assert row.created_at == created_at
    assert row.updated_at > updated_at


async def test_a_core_update_also_moves_updated_at(database: Database) -> None:
    user = new_user()
    async with database.unit_of_work() as session:
        session.add(user)
    await asyncio.sleep(0.02)
    async with database.unit_of_work() as session:
        await session.execute(update(User).where(User.id == user.id).values(credits=7))
        updated_at = (
            await session.execute(select(User.updated_at).where(User.id == user.id))
        ).scalar_one()
    assert updated_at > user.updated_at


async def test_naive_datetimes_are_refused(database: Database) -> None:
    async def store_naive() -> None:
        async with database.unit_of_work() as session:
            naive = dt.datetime(2024, 1, 1)  # naive on purpose
            await session.execute(update(User).values(updated_at=naive))

    with pytest.raises(DatabaseError, match="naive"):
        await store_naive()


async def test_an_aware_datetime_in_another_zone_is_stored_as_the_same_instant(
    database: Database,
) -> None:
    user = new_user()
    async with database.unit_of_work() as session:
        session.add(user)
    moment = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    async with database.unit_of_work() as session:
        await session.execute(update(User).where(User.id == user.id).values(created_at=moment))
    async with database.unit_of_work() as session:
        stored = (
            await session.execute(select(User.created_at).where(User.id == user.id))
        ).scalar_one()
    assert stored == moment
    assert stored.tzinfo == dt.UTC
    assert stored.hour == 2


async def test_soft_delete_marks_rows_and_keeps_them(database: Database) -> None:
    author = new_user()
    async with database.unit_of_work() as session:
        session.add(author)
        await session.flush()
        post = Article(slug="gone", title="t", description="d", body="b", author_id=author.id)
        session.add(post)
    assert post.deleted_at is None
    assert not post.is_deleted
    async with database.unit_of_work() as session:
        loaded = await session.get_one(Article, post.id)
        loaded.deleted_at = dt.datetime.now(dt.UTC)
    async with database.unit_of_work() as session:
        loaded = await session.get_one(Article, post.id)
        assert loaded.is_deleted
        assert loaded.deleted_at is not None
        assert loaded.deleted_at.tzinfo == dt.UTC
        live = await session.scalars(
            select(Article.id).where(Article.author_id == author.id, Article.deleted_at.is_(None))
        )
        assert list(live) == []


async def test_a_soft_deleted_slug_can_be_reused_but_not_twice_live(database: Database) -> None:
    author = new_user()
    async with database.unit_of_work() as session:
        session.add(author)
        await session.flush()
        session.add(
            Article(
                slug="reused",
                title="t",
                description="d",
                body="b",
                author_id=author.id,
                deleted_at=dt.datetime.now(dt.UTC),
            )
        )
        session.add(
            Article(slug="reused", title="t", description="d", body="b", author_id=author.id)
        )

    async def second_live() -> None:
        async with database.unit_of_work() as session:
            session.add(
                Article(slug="reused", title="t", description="d", body="b", author_id=author.id)
            )

    with pytest.raises(Conflict):
        await second_live()


async def test_sqlite_and_postgres_store_timestamps_with_a_zone_or_in_utc(
    database: Database, dialect: str
) -> None:
    user = new_user()
    async with database.unit_of_work() as session:
        session.add(user)
        raw = (
            await session.execute(
                text("SELECT created_at FROM users WHERE username = :name"),
                {"name": user.username},
            )
        ).scalar_one()
    if dialect == "postgresql":
        assert raw.tzinfo is not None
    elif dialect == "mysql":
        # DATETIME keeps no zone either: a naive value, which must be the UTC clock.
        assert raw.tzinfo is None
        assert abs(raw.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    else:
        # SQLite keeps text without a zone: the stored clock must be UTC, not local time.
        stored = dt.datetime.fromisoformat(raw).replace(tzinfo=dt.UTC)
        assert abs(stored - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
