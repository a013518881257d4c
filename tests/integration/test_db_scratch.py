"""``conduit.db.scratch``: throwaway databases are made, and gone after the block."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db import url as db_url
from conduit.db.scratch import create_database, scratch_database
from tests.scratch import Scratch


async def test_a_sqlite_scratch_database_is_a_file_in_a_folder_deleted_after() -> None:
    async with scratch_database(db_url.parse("sqlite://"), prefix="conduit_scratch") as url:
        assert url.database is not None
        folder = Path(url.database).parent
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE t (v int)"))
        finally:
            await engine.dispose()
        assert Path(url.database).is_file()  # noqa: ASYNC240 - a check; nothing runs meanwhile
    assert not folder.exists()


async def test_a_postgres_scratch_database_exists_for_the_block_only(
    scratch_databases: Scratch,
) -> None:
    server = scratch_databases.server("postgresql")
    async with scratch_database(server.url, prefix="conduit_scratch", admin=server.admin) as url:
        assert url.database is not None
        assert url.database.startswith("conduit_scratch_")
        assert await exists(server.admin or server.url, url.database)
    assert not await exists(server.admin or server.url, url.database)


async def exists(server: URL, name: str) -> bool:
    engine = create_async_engine(server)
    try:
        async with engine.connect() as conn:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            return (await conn.execute(query, {"name": name})).first() is not None
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("server", "prefix", "message"),
    [
        ("postgresql://h/postgres", "Bad-Name", "lower-case letters"),
        ("postgresql://h/postgres", 'x"; DROP', "lower-case letters"),
        ("oracle+oracledb://h/test", "conduit", "made on"),
    ],
)
async def test_unsupported_servers_and_unsafe_prefixes_are_refused(
    server: str, prefix: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await create_database(make_url(server), prefix=prefix)
