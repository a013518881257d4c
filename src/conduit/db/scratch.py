"""Throwaway databases: a new, uniquely named one on a server, dropped when done.

The test suite, the examples and CI use these; the service never does. On a server dialect
(PostgreSQL, MySQL/MariaDB) the database is created with ``CREATE DATABASE`` (the user needs
the right to) and dropped with ``DROP DATABASE`` (``WITH (FORCE)`` on PostgreSQL); on SQLite it
is a file in a folder. A dialect is supported by naming its maintenance database (the one an
administrative connection opens, since a database cannot drop itself) and how its ``CREATE``
and ``DROP`` end. MySQL/MariaDB databases are created with ``utf8mb4``.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

# The database an administrative connection opens, per server dialect.
MAINTENANCE_DATABASE = {"postgresql": "postgres", "mysql": "mysql"}
# Ends a DROP DATABASE: PostgreSQL first ends the sessions still connected to it.
_DROP_SUFFIX = {"postgresql": " WITH (FORCE)"}
# Ends a CREATE DATABASE: MySQL's databases take the server's default character set otherwise.
_CREATE_SUFFIX = {"mysql": " CHARACTER SET utf8mb4"}
# A prefix becomes part of an identifier: lower-case letters, digits and underscores only.
_PREFIX = re.compile(r"^[a-z_][a-z0-9_]*$")


def _backend(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in MAINTENANCE_DATABASE:
        raise ValueError(f"scratch databases are made on {sorted(MAINTENANCE_DATABASE)}")
    return backend


async def _admin(server: URL, statement: str, *, name: str) -> None:
    """Run ``statement`` on ``server`` with ``{name}`` replaced by ``name``, quoted."""
    # CREATE and DROP DATABASE cannot run inside a transaction block.
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    quoted = engine.dialect.identifier_preparer.quote_identifier(name)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement.format(name=quoted)))
    finally:
        await engine.dispose()


async def create_database(server: URL, *, prefix: str, admin: URL | None = None) -> URL:
    """Create an empty database ``<prefix>_<random>`` on ``server``; its URL on ``server``.

    ``admin`` is where the statement runs when ``server`` cannot (a pooler in front of it).
    """
    backend = _backend(server)
    if not _PREFIX.match(prefix):
        raise ValueError("a scratch database's prefix is lower-case letters, digits and _")
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = admin or server
    await _admin(admin, "CREATE DATABASE {name}" + _CREATE_SUFFIX.get(backend, ""), name=name)
    return server.set(database=name)


async def drop_database(database: URL, *, admin: URL | None = None) -> None:
    """Drop ``database`` if it exists, from ``admin`` (default: its server's maintenance one)."""
    backend = _backend(database)
    assert database.database, "the URL names no database to drop"
    admin = admin or database.set(database=MAINTENANCE_DATABASE[backend])
    drop = "DROP DATABASE IF EXISTS {name}" + _DROP_SUFFIX.get(backend, "")
    await _admin(admin, drop, name=database.database)


@asynccontextmanager
async def scratch_database(
    server: URL, *, prefix: str, admin: URL | None = None
) -> AsyncIterator[URL]:
    """A new, empty database of ``server``'s dialect for the block, dropped after it.

    On SQLite, a file in a temporary folder, deleted after the block.
    """
    if server.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{prefix}_") as temporary:
            yield server.set(database=str(Path(temporary) / f"{prefix}.db"))
        return
    url = await create_database(server, prefix=prefix, admin=admin)
    try:
        yield url
    finally:
        await drop_database(url, admin=admin)
