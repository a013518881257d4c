"""The suite's one factory of scratch databases: a database of the test's own, per dialect.

``scratch_databases`` (a session fixture in ``tests/conftest.py``) hands out :class:`Scratch`.
A SQLite database is a file in a fresh temporary folder; a server dialect's is created on the
test server (``conduit.db.scratch``) and dropped after the block. Either is migrated to head
unless ``migrated=False`` asks for an empty one. A dialect whose server is not configured skips
the test; a configured server that cannot create the database skips it too, or fails it when
that server is required (``REQUIRE_POSTGRES=1``)::

    async with scratch_databases.url("postgresql", prefix="conduit_uow") as url: ...
    async with scratch_databases.database(dialect, settings=PATIENT_WAITS) as database: ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from conduit.db import url as db_url
from conduit.db.migrations import Migrations
from conduit.db.scratch import create_database, drop_database
from conduit.db.session import Database
from conduit.settings import Settings


@dataclass(frozen=True, slots=True)
class ScratchServer:
    """Where a server dialect's scratch databases are made."""

    url: URL
    # Runs CREATE and DROP DATABASE when ``url`` cannot (a pooler in front of the server).
    admin: URL | None = None
    # An unusable server fails the test instead of skipping it.
    required: bool = False


@dataclass(frozen=True, slots=True)
class Scratch:
    """Makes scratch databases: SQLite always, a server dialect when ``servers`` names it."""

    tmp: pytest.TempPathFactory
    servers: Mapping[str, ScratchServer]
    # The application's test settings for a database URL (``tests.conftest.make_settings``).
    settings: Callable[..., Settings]
    migrations_dir: Path

    def server(self, dialect: str) -> ScratchServer:
        """The server of ``dialect``; skips the test when none is configured."""
        server = self.servers.get(dialect)
        if server is None:
            pytest.skip(f"no {dialect} server to test on (TEST_DATABASE_URL is PostgreSQL's)")
        return server

    @asynccontextmanager
    async def url(
        self, dialect: str, *, prefix: str = "conduit_test", migrated: bool = True
    ) -> AsyncIterator[URL]:
        """A database of ``dialect`` for the block (at head unless ``migrated=False``)."""
        if dialect == "sqlite":
            url = db_url.parse(f"sqlite:///{self.tmp.mktemp(prefix) / 'conduit.db'}")
            await self._migrate(url, migrated)
            yield url
            return
        server = self.server(dialect)
        try:
            url = await create_database(server.url, prefix=prefix, admin=server.admin)
        except Exception as exc:
            message = f"{dialect} at {db_url.mask(server.url)} is unusable: {exc}"
            if server.required:
                pytest.fail(message)
            pytest.skip(message)
        try:
            await self._migrate(url, migrated)
            yield url
        finally:
            await drop_database(url, admin=server.admin)

    async def _migrate(self, url: URL, migrated: bool) -> None:
        if migrated:
            config = self.settings(url).database
            await Migrations(config, script_location=self.migrations_dir).upgrade()

    @asynccontextmanager
    async def database(
        self,
        dialect: str,
        *,
        prefix: str = "conduit_test",
        migrated: bool = True,
        settings: Mapping[str, object] | None = None,
    ) -> AsyncIterator[Database]:
        """A :class:`Database` on a scratch database whose units of work commit.

        ``settings`` override the test settings it is configured with.
        """
        async with self.url(dialect, prefix=prefix, migrated=migrated) as url:
            database = Database.from_config(self.settings(url, **(settings or {})).database)
            try:
                yield database
            finally:
                await database.dispose()
