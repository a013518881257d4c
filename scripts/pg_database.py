"""Create or drop a throwaway PostgreSQL database on the server of a URL.

    python scripts/pg_database.py create SERVER_URL PREFIX   # prints the new database's URL
    python scripts/pg_database.py drop DATABASE_URL

The CI script and the conformance run use it, so neither needs psql on the PATH. Any spelling
Conduit accepts works (postgres://, postgresql://, postgresql+asyncpg://); the printed URL is
plain ``postgresql://`` and carries the password, so capture it rather than echoing it.
"""

from __future__ import annotations

import asyncio
import secrets
import sys

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db import url as db_url

USAGE = "usage: pg_database.py create SERVER_URL PREFIX | drop DATABASE_URL"


async def _admin(server: URL, sql: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def create(server: URL, prefix: str) -> URL:
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    return server.set(database=name)


async def drop(database: URL) -> None:
    # Connect to the maintenance database: a database cannot drop itself.
    sql = f'DROP DATABASE IF EXISTS "{database.database}" WITH (FORCE)'
    await _admin(database.set(database="postgres"), sql)


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 3 and argv[0] == "create":
            server = db_url.parse(argv[1])
            if server.get_backend_name() != "postgresql":
                raise db_url.InvalidDatabaseURL("is not a PostgreSQL URL")
            created = asyncio.run(create(server, argv[2]))
            print(created.set(drivername="postgresql").render_as_string(hide_password=False))
            return 0
        if len(argv) == 2 and argv[0] == "drop":
            asyncio.run(drop(db_url.parse(argv[1])))
            return 0
    except db_url.InvalidDatabaseURL as exc:
        print(f"error: the URL {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
