"""TLS to PostgreSQL follows DATABASE_SSLMODE (else the URL's sslmode, else the host), as the
server itself reports each connection in ``pg_stat_ssl``."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db import tls
from conduit.db.config import DatabaseConfig
from conduit.db.engine import create_engine, create_probe_engine
from conduit.db.migrations import Migrations
from tests.conftest import MIGRATIONS_DIR, PROJECT_ROOT, make_settings
from tests.scratch import Scratch

ENCRYPTED = text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")


async def encrypted(config: DatabaseConfig, *, probe: bool = False) -> bool:
    """Whether the engine's connection is encrypted, as the server reports it."""
    engine = create_probe_engine(config) if probe else create_engine(config)
    try:
        async with engine.connect() as conn:
            return bool((await conn.execute(ENCRYPTED)).scalar_one())
    finally:
        await engine.dispose()


async def server_offers_tls(url: URL) -> bool:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return bool((await conn.execute(text("SHOW ssl"))).scalar_one() == "on")
    finally:
        await engine.dispose()


@pytest.fixture
def server(scratch_databases: Scratch) -> URL:
    return scratch_databases.server("postgresql").url


async def test_a_loopback_server_is_connected_to_without_tls_by_default(server: URL) -> None:
    if tls.mode_for(server, setting=None) != "disable":
        pytest.skip("the test server is not on the loopback interface")
    config = make_settings(server).database
    assert config.sslmode is None
    assert await encrypted(config) is False
    assert await encrypted(config, probe=True) is False


async def test_disable_prefer_and_require_reach_the_driver(server: URL) -> None:
    offered = await server_offers_tls(server)
    assert await encrypted(make_settings(server, database_sslmode="disable").database) is False
    # prefer: TLS exactly when the server offers it.
    assert await encrypted(make_settings(server, database_sslmode="prefer").database) is offered
    required = make_settings(server, database_sslmode="require").database
    if offered:
        assert await encrypted(required) is True
    else:
        # The server refused TLS, and require does not fall back to a plain connection.
        with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
            await encrypted(required)


async def test_the_url_sslmode_is_taken_from_the_url_and_the_setting_wins(server: URL) -> None:
    # libpq's sslmode in the URL, which asyncpg itself would refuse as an unknown argument.
    config = make_settings(server.update_query_dict({"sslmode": "disable"})).database
    assert await encrypted(config) is False
    assert await encrypted(config, probe=True) is False
    if not await server_offers_tls(server):
        required = make_settings(server.update_query_dict({"sslmode": "require"})).database
        with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
            await encrypted(required)
        overridden = make_settings(
            server.update_query_dict({"sslmode": "require"}), database_sslmode="disable"
        ).database
        assert await encrypted(overridden) is False


async def test_migrations_connect_with_the_url_sslmode(scratch_databases: Scratch) -> None:
    async with scratch_databases.url("postgresql", prefix="conduit_tls", migrated=False) as url:
        config = make_settings(url.update_query_dict({"sslmode": "disable"})).database
        await Migrations(config, script_location=MIGRATIONS_DIR).upgrade()
        assert (await Migrations(config, script_location=MIGRATIONS_DIR).state()).is_current


async def test_the_bare_alembic_command_takes_the_url_sslmode(
    scratch_databases: Scratch,
) -> None:
    async with scratch_databases.url("postgresql", prefix="conduit_tls", migrated=False) as url:
        with_mode = url.update_query_dict({"sslmode": "disable"})
        env = {**os.environ, "DATABASE_URL": with_mode.render_as_string(hide_password=False)}
        env.pop("MIGRATIONS_DIR", None)
        alembic = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "alembic"),
            "upgrade",
            "head",
            cwd=PROJECT_ROOT,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(alembic.communicate(), timeout=120)
        assert alembic.returncode == 0, stderr.decode()
        config = make_settings(url).database
        assert (await Migrations(config, script_location=MIGRATIONS_DIR).state()).is_current
