"""Seeding through the library: exact counts, determinism, consistency, and the guards.

Each dialect gets a throwaway database of its own (never the suite's shared one); every test
starts with a reset, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select, text

from conduit.db.session import Database
from conduit.domain.articles.slugs import SUFFIX_LENGTH, slug_base
from conduit.domain.schema import metadata
from conduit.http.app import create_app
from conduit.settings import Settings
from conduit.tooling.seed import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DatabaseNotEmpty,
    DataSet,
    Mode,
    SeedSpec,
    SeedSpecError,
    seed_database,
)
from tests.conftest import asgi_client, make_settings
from tests.scratch import Scratch
from tests.unit.test_seed_avatar import assert_local_svg

UNTIL = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
SPEC = SeedSpec(
    users=40,
    articles=80,
    comments=120,
    tags=15,
    tags_per_article=2.5,
    favorites=300,
    follows=200,
    seed=7,
    until=UNTIL,
    initial_credits=100,
)
EXPECTED = {
    "users": 40,
    "profiles": 40,
    "tags": 15,
    "articles": 80,
    "article_tags": 200,
    "favorites": 300,
    "follows": 200,
    "comments": 120,
    "credit_transfers": 0,
}
# What the tables hold after seeding: the loaded rows, and the kept count of live articles.
IN_TABLES = {**EXPECTED, "counters": 1}


@dataclasses.dataclass
class Seeded:
    settings: Settings
    database: Database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def seeded(
    request: pytest.FixtureRequest, scratch_databases: Scratch
) -> AsyncIterator[Seeded]:
    """A migrated throwaway database of one dialect."""
    async with scratch_databases.url(request.param, prefix="conduit_seed") as url:
        settings = make_settings(url)
        database = Database.from_config(settings.database)
        try:
            yield Seeded(settings, database)
        finally:
            await database.dispose()


@pytest.fixture
def database(seeded: Seeded) -> Database:
    return seeded.database


async def counts(database: Database) -> dict[str, int]:
    async with database.unit_of_work() as session:
        return {
            table.name: (
                await session.execute(select(func.count()).select_from(table))
            ).scalar_one()
            for table in metadata.sorted_tables
        }


async def dump(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary key order."""
    async with database.unit_of_work() as session:
        result = {}
        for table in metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            result[table.name] = [tuple(row) for row in (await session.execute(query)).all()]
        return result


async def scalar(database: Database, sql: str) -> Any:
    async with database.unit_of_work() as session:
        return (await session.execute(text(sql))).scalar_one()


async def test_seeding_writes_exactly_the_requested_rows_to_every_table(database):
    report = await seed_database(database, SPEC, mode=Mode.RESET)
    assert await counts(database) == IN_TABLES
    assert {each.table: each.rows for each in report.tables} == {
        name: rows for name, rows in EXPECTED.items() if name != "credit_transfers"
    }
    assert report.seeded
    assert report.login_email == DEMO_EMAIL
    assert report.as_dict()["login"] == {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}


async def test_the_same_seed_gives_identical_rows_ids_included(database):
    await seed_database(database, SPEC, mode=Mode.RESET)
    first = await dump(database)
    await seed_database(database, SPEC, mode=Mode.RESET)
    assert await dump(database) == first

    await seed_database(database, dataclasses.replace(SPEC, seed=8), mode=Mode.RESET)
    other = await dump(database)
    for table in ("users", "profiles", "articles", "favorites", "follows", "comments"):
        assert other[table] != first[table], table


async def test_seeded_rows_keep_every_invariant_the_api_relies_on(database):
    await seed_database(database, SPEC, mode=Mode.RESET)
    zero_queries = {
        "self follows": "SELECT count(*) FROM follows WHERE follower_id = followee_id",
        "users without profile": "SELECT count(*) FROM users u "
        "LEFT JOIN profiles p ON p.user_id = u.id WHERE p.user_id IS NULL",
        "credits": "SELECT count(*) FROM users WHERE credits <> 100",
        "inactive or privileged": "SELECT count(*) FROM users "
        "WHERE role <> 'user' OR NOT is_active",
        "deleted": "SELECT (SELECT count(*) FROM articles WHERE deleted_at IS NOT NULL)"
        " + (SELECT count(*) FROM comments WHERE deleted_at IS NOT NULL)",
        "updated before created": "SELECT "
        "(SELECT count(*) FROM users WHERE updated_at < created_at)"
        " + (SELECT count(*) FROM articles WHERE updated_at < created_at)"
        " + (SELECT count(*) FROM comments WHERE updated_at < created_at)",
        "article before its author": "SELECT count(*) FROM articles a "
        "JOIN users u ON u.id = a.author_id WHERE a.created_at < u.created_at",
        "favorite before article or reader": "SELECT count(*) FROM favorites f "
        "JOIN articles a ON a.id = f.article_id JOIN users u ON u.id = f.user_id "
        "WHERE f.created_at < a.created_at OR f.created_at < u.created_at",
        "comment before article or author": "SELECT count(*) FROM comments c "
        "JOIN articles a ON a.id = c.article_id JOIN users u ON u.id = c.author_id "
        "WHERE c.created_at < a.created_at OR c.created_at < u.created_at",
        "dangling favorites": "SELECT count(*) FROM favorites f "
        "LEFT JOIN articles a ON a.id = f.article_id LEFT JOIN users u ON u.id = f.user_id "
        "WHERE a.id IS NULL OR u.id IS NULL",
        "dangling taggings": "SELECT count(*) FROM article_tags x "
        "LEFT JOIN articles a ON a.id = x.article_id LEFT JOIN tags t ON t.id = x.tag_id "
        "WHERE a.id IS NULL OR t.id IS NULL",
        "dangling comments": "SELECT count(*) FROM comments c "
        "LEFT JOIN articles a ON a.id = c.article_id LEFT JOIN users u ON u.id = c.author_id "
        "WHERE a.id IS NULL OR u.id IS NULL",
        "dangling follows": "SELECT count(*) FROM follows f "
        "LEFT JOIN users a ON a.id = f.follower_id LEFT JOIN users b ON b.id = f.followee_id "
        "WHERE a.id IS NULL OR b.id IS NULL",
    }
    for what, sql in zero_queries.items():
        assert await scalar(database, sql) == 0, what

    async with database.unit_of_work() as session:
        users = (
            await session.execute(text("SELECT username, email, password_hash FROM users"))
        ).all()
        articles = (
            await session.execute(
                text("SELECT id, slug, title, created_at FROM articles ORDER BY created_at, id")
            )
        ).all()
        by_id = (await session.execute(text("SELECT id FROM articles ORDER BY id"))).all()
        profiles = (await session.execute(text("SELECT bio, image FROM profiles"))).all()

    assert len({u.username for u in users}) == len({u.email for u in users}) == SPEC.users
    assert ("demo", DEMO_EMAIL) in {(u.username, u.email) for u in users}
    # One hash, computed once, shared by every account: and it is the documented password.
    assert len({u.password_hash for u in users}) == 1
    assert PasswordHash((Argon2Hasher(),)).verify(DEMO_PASSWORD, users[0].password_hash)
    # Some profiles are filled in, some are not.
    assert 0 < sum(1 for p in profiles if p.bio) < SPEC.users
    assert 0 < sum(1 for p in profiles if p.image) < SPEC.users
    # Avatars travel inside the row: an offline demo shows them and no browser calls out.
    for image in {p.image for p in profiles if p.image}:
        assert_local_svg(image)

    assert len({a.slug for a in articles}) == SPEC.articles
    for article in articles:
        base, suffix = article.slug.rsplit("-", 1)
        assert base == slug_base(article.title)
        assert len(suffix) == SUFFIX_LENGTH
    # The ids are UUID v7 of the creation time: ordering by id is ordering by age.
    assert [a.id for a in articles] == [row.id for row in by_id]

    oldest = await scalar(database, "SELECT min(created_at) FROM users")
    newest = await scalar(database, "SELECT max(created_at) FROM favorites")
    assert _aware(oldest) >= UNTIL - dt.timedelta(days=396)
    assert _aware(newest) <= UNTIL


def _aware(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):  # SQLite hands raw text back through text()
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def test_tag_popularity_is_skewed(database):
    await seed_database(database, SPEC, mode=Mode.RESET)
    async with database.unit_of_work() as session:
        query = text("SELECT count(*) AS n FROM article_tags GROUP BY tag_id ORDER BY n DESC")
        uses = list((await session.execute(query)).scalars())
    assert sum(uses) == SPEC.article_tags
    assert uses[0] >= 4 * uses[len(uses) // 2]


async def test_a_database_with_users_is_refused_unless_the_mode_says_otherwise(database):
    await seed_database(database, SPEC, mode=Mode.RESET)
    before = await dump(database)

    with pytest.raises(DatabaseNotEmpty, match="already has 40 users"):
        await seed_database(database, SPEC)
    report = await seed_database(database, SPEC, mode=Mode.IF_EMPTY)

    assert not report.seeded
    assert report.tables == []
    assert await dump(database) == before


async def test_if_empty_seeds_an_empty_database(database):
    await seed_database(database, SPEC, mode=Mode.RESET)
    async with database.unit_of_work() as session:
        conn = await session.connection()
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())
    report = await seed_database(database, SPEC, mode=Mode.IF_EMPTY)
    assert report.seeded
    assert await counts(database) == IN_TABLES


async def test_append_adds_an_independent_data_set_beside_the_old_one(database):
    await seed_database(database, SPEC, mode=Mode.RESET)
    # Same seed on purpose: names, slugs and ids must still not collide.
    report = await seed_database(database, SPEC, mode=Mode.APPEND)
    doubled = {name: 2 * rows for name, rows in EXPECTED.items()}
    doubled["tags"] = SPEC.tags  # the vocabulary is shared: existing tags are reused
    doubled["counters"] = 1  # one kept total, recounted
    assert await counts(database) == doubled
    assert report.login_email != DEMO_EMAIL  # the demo account exists once
    assert await scalar(database, "SELECT count(*) FROM users WHERE username = 'demo'") == 1

    await seed_database(database, dataclasses.replace(SPEC, tags=20, seed=9), mode=Mode.APPEND)
    assert (await counts(database))["tags"] == 20
    assert await scalar(database, "SELECT count(DISTINCT slug) FROM articles") == 3 * SPEC.articles


async def test_reset_replaces_everything_with_the_new_data_set(database):
    await seed_database(database, SPEC, mode=Mode.RESET)
    small = SeedSpec(users=3, articles=2, comments=1, tags=2, tags_per_article=1, favorites=2,
                     follows=1, until=UNTIL)  # fmt: skip
    await seed_database(database, small, mode=Mode.RESET)
    assert await counts(database) == {
        "users": 3,
        "profiles": 3,
        "tags": 2,
        "articles": 2,
        "article_tags": 2,
        "favorites": 2,
        "follows": 1,
        "comments": 1,
        "credit_transfers": 0,
        "counters": 1,
    }
    assert await scalar(database, "SELECT min(id) FROM comments") == 1


async def test_the_api_writes_tags_and_comments_after_seeding(seeded, database):
    """Explicit ids were loaded: the identities must have moved past them."""
    await seed_database(database, SPEC, mode=Mode.RESET)
    app = create_app(seeded.settings, database=database)
    async with asgi_client(app) as client:
        login = await client.post(
            "/api/users/login", json={"user": {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}}
        )
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Token {login.json()['user']['token']}"}
        article: dict[str, object] = {"title": "After the seed", "description": "d", "body": "b"}
        article["tagList"] = ["brand-new-tag", "another-new-tag"]
        created = await client.post("/api/articles", json={"article": article}, headers=auth)
        assert created.status_code == 201, created.text
        slug = created.json()["article"]["slug"]
        comment = await client.post(
            f"/api/articles/{slug}/comments", json={"comment": {"body": "First!"}}, headers=auth
        )
        assert comment.status_code in (200, 201), comment.text
        assert comment.json()["comment"]["id"] == SPEC.comments + 1
        tags = (await client.get("/api/tags")).json()["tags"]
    assert {"brand-new-tag", "another-new-tag", "programming"} <= set(tags)
    assert await scalar(database, "SELECT max(id) FROM tags") == SPEC.tags + 2


async def test_postgres_statistics_are_fresh_after_seeding(seeded, database):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("ANALYZE statistics are PostgreSQL's")
    await seed_database(database, SPEC, mode=Mode.RESET)
    tuples = await scalar(database, "SELECT reltuples FROM pg_class WHERE relname = 'favorites'")
    assert tuples == SPEC.favorites


async def test_the_loader_reports_progress_for_every_table(database):
    seen: dict[str, list[int]] = {}

    class Recorder:
        def start(self, table: str, total: int) -> None:
            seen[table] = [total, 0]

        def advance(self, table: str, rows: int) -> None:
            seen[table][1] += rows

    await seed_database(database, SPEC, mode=Mode.RESET, progress=Recorder())
    expected = {name: [rows, rows] for name, rows in EXPECTED.items() if name != "credit_transfers"}
    assert seen == expected


def test_generation_alone_is_deterministic_and_time_ordered():
    first = [list(t.rows) for t in DataSet(SPEC, password_hash="h").tables()]
    again = [list(t.rows) for t in DataSet(SPEC, password_hash="h").tables()]
    assert first == again
    users, articles = first[0], first[3]
    for rows in (users, articles):
        ids = [row[0] for row in rows]
        assert ids == sorted(ids)
        assert all(row[0].version == 7 for row in rows)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"favorites": 40 * 80 + 1}, "favorites exceed"),
        ({"follows": 40 * 39 + 1}, "follows exceed"),
        ({"tags_per_article": 16.0}, "tags per article"),
        ({"users": 0}, "need at least one user"),
        ({"articles": 0}, "comments need at least one article"),
        ({"comments": -1}, "cannot be negative"),
    ],
)
def test_impossible_sizes_are_refused_before_anything_is_written(change, message):
    with pytest.raises(SeedSpecError, match=message):
        dataclasses.replace(SPEC, **change).validate()
