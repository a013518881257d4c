"""N+1 detection, the slow-statement log, Server-Timing, /metrics and the query log."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.engine import URL

from conduit.db.engine import create_engine
from conduit.db.instrument import NPlusOneDetected, allow_repeats
from conduit.db.migrations import Migrations
from conduit.db.session import Database, make_sessionmaker
from conduit.domain.profiles.models import Profile
from conduit.domain.tags.models import Tag
from conduit.http.app import create_app
from conduit.settings import Settings
from conduit.tooling.querylog import read_query_log
from tests.conftest import MIGRATIONS_DIR, make_settings
from tests.factories import make_user


@asynccontextmanager
async def _database_with(settings: Settings) -> AsyncIterator[Database]:
    """A database on an engine of its own (instrumentation is configured per engine), its
    work rolled back at the end."""
    engine = create_engine(settings.database)
    try:
        async with engine.connect() as connection:
            outer = await connection.begin()
            yield Database(engine, factory=make_sessionmaker(connection))
            await outer.rollback()
    finally:
        await engine.dispose()


async def _lazy_loop(database: Database, user_ids: Sequence[object]) -> None:
    async with database.unit_of_work() as session:
        for user_id in user_ids:  # one query per row: the pattern the detector exists for
            await session.execute(select(Profile.bio).where(Profile.user_id == user_id))


async def test_n_plus_one_loop_fails_the_unit_of_work_in_strict_mode(
    app: FastAPI, database: Database
) -> None:
    users = [await make_user(app) for _ in range(12)]
    with pytest.raises(NPlusOneDetected, match=r"test_observability\.py"):
        await _lazy_loop(database, [made.user.id for made in users])


async def test_n_plus_one_loop_logs_a_warning_with_the_call_site_when_not_strict(
    migrated_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    async with _database_with(make_settings(migrated_url, n1_strict=False)) as database:
        with caplog.at_level(logging.WARNING, logger="conduit.db.n_plus_one"):
            await _lazy_loop(database, [uuid.uuid4() for _ in range(12)])
    [record] = caplog.records
    assert "possible N+1" in record.getMessage()
    assert "FROM profiles" in record.getMessage()
    assert "test_observability.py" in record.getMessage()


async def test_repeats_under_the_threshold_or_allowed_or_batched_are_not_n_plus_one(
    app: FastAPI, database: Database
) -> None:
    users = [await make_user(app) for _ in range(12)]
    ids = [made.user.id for made in users]
    await _lazy_loop(database, ids[:10])  # the threshold is 10: exactly 10 is fine
    with allow_repeats():
        await _lazy_loop(database, ids)
    async with database.unit_of_work() as session:  # executemany is one batch, not a loop
        await session.execute(insert(Tag), [{"name": f"batch-{i}"} for i in range(50)])


async def test_slow_statements_are_logged_normalised_without_parameter_values(
    migrated_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    async with _database_with(make_settings(migrated_url, slow_query_ms=0)) as database:
        with caplog.at_level(logging.WARNING, logger="conduit.db.slow"):
            async with database.unit_of_work() as session:
                await session.execute(select(Tag.id).where(Tag.name == "s3cr3t-value"))
    messages = [record.getMessage() for record in caplog.records]
    assert any("slow statement" in m and "FROM tags" in m for m in messages)
    assert not any("s3cr3t-value" in m for m in messages)


async def test_reads_on_their_own_engine_are_logged_and_checked_for_n_plus_one(
    migrated_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    # The application's own Database: on PostgreSQL, reads run on an autocommit engine made
    # from the main one by execution_options(), which must carry the main engine's config.
    settings = make_settings(migrated_url, slow_query_ms=0)
    database = Database.from_config(settings.database)
    try:
        app = create_app(settings, database=database)
        with caplog.at_level(logging.WARNING, logger="conduit.db.slow"):
            async with await _client(app) as client:
                assert (await client.get("/api/tags")).status_code == 200
        messages = [record.getMessage() for record in caplog.records]
        assert any("slow statement" in m and "FROM tags" in m for m in messages), messages

        async def read_in_a_loop() -> None:
            async with database.reader() as session:
                for _ in range(12):
                    await session.execute(select(Tag.id).where(Tag.name == "loop"))

        with pytest.raises(NPlusOneDetected, match="FROM tags"):
            await read_in_a_loop()
    finally:
        await database.dispose()


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://conduit.test")


async def test_server_timing_reports_the_statements_of_the_request(
    migrated_url: URL, database: Database
) -> None:
    app = create_app(make_settings(migrated_url, server_timing=True), database=database)
    async with await _client(app) as client:
        response = await client.get("/api/articles")
    assert response.status_code == 200
    header = response.headers["server-timing"]
    assert header.startswith("db;dur=")
    assert 'desc="1 statements"' in header


async def test_server_timing_is_off_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/tags")
    assert "server-timing" not in response.headers


async def test_metrics_count_requests_by_route_template_status_and_statements(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    author = await make_user(app)
    created = await client.post(
        "/api/articles",
        json={"article": {"title": "Metrics", "description": "d", "body": "b"}},
        headers=author.auth,
    )
    slug = created.json()["article"]["slug"]
    assert (await client.get(f"/api/articles/{slug}")).status_code == 200
    assert (await client.get("/api/articles/missing-slug")).status_code == 404

    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert (
        'conduit_http_responses_total{method="GET",route="/api/articles/{slug}",status="200"} 1.0'
        in text
    )
    assert (
        'conduit_http_responses_total{method="GET",route="/api/articles/{slug}",status="404"} 1.0'
        in text
    )
    assert (
        'conduit_http_request_duration_seconds_count{method="POST",route="/api/articles"}' in text
    )
    assert (
        'conduit_db_statements_per_request_count{method="GET",route="/api/articles/{slug}"} 2.0'
        in text
    )
    assert "conduit_db_schema_at_head 1.0" in text


async def test_metrics_can_be_protected_by_a_token_or_disabled(
    migrated_url: URL, database: Database
) -> None:
    protected = create_app(
        make_settings(migrated_url, metrics_token="scrape-me"), database=database
    )
    async with await _client(protected) as client:
        assert (await client.get("/metrics")).status_code == 401
        ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200
    disabled = create_app(make_settings(migrated_url, metrics_enabled=False), database=database)
    async with await _client(disabled) as client:
        response = await client.get("/metrics")
        assert response.status_code == 404
        assert response.json() == {"errors": {"path": ["not found"]}}


async def test_pool_gauges_are_exported_by_an_app_that_owns_its_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    settings = make_settings(url, query_log=tmp_path / "queries.jsonl")
    await Migrations(settings.database, script_location=MIGRATIONS_DIR).upgrade()
    app = create_app(settings)
    async with app.router.lifespan_context(app), await _client(app) as client:
        assert (await client.get("/api/tags")).status_code == 200
        text = (await client.get("/metrics")).text
    assert "conduit_db_pool_checked_out 0.0" in text
    assert "conduit_db_pool_overflow 0.0" in text
    logged = read_query_log(tmp_path / "queries.jsonl")
    assert any("FROM tags" in statement.sql for statement in logged.statements)


async def test_the_overflow_gauge_counts_connections_beyond_the_pool_size(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'overflow.db'}")
    await Migrations(settings.database, script_location=MIGRATIONS_DIR).upgrade()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        engine = app.state.database.engine
        registry = app.state.metrics.registry
        size = engine.pool.size()

        def gauge(name: str) -> float | None:
            value: float | None = registry.get_sample_value(f"conduit_db_pool_{name}")
            return value

        assert gauge("overflow") == 0.0
        async with AsyncExitStack() as held:
            for _ in range(size + 2):
                connection = await held.enter_async_context(engine.connect())
                await connection.execute(select(1))
            assert (gauge("size"), gauge("checked_out"), gauge("overflow")) == (size, size + 2, 2)
        assert gauge("overflow") == 0.0
