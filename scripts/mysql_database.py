"""Create or drop a throwaway MySQL/MariaDB database on the server of a URL.

    python scripts/mysql_database.py create SERVER_URL PREFIX   # prints the new database's URL
    python scripts/mysql_database.py drop DATABASE_URL

The MySQL counterpart of scripts/pg_database.py, for the CI script (no mysql client needed).
Any spelling Conduit accepts works (mysql://, mysql+aiomysql://, mariadb://); the printed URL
is plain ``mysql://`` and carries the password, so capture it rather than echoing it.
"""

from __future__ import annotations

import asyncio
import secrets
import sys

from pg_database import _admin  # the same AUTOCOMMIT one-statement connection
from sqlalchemy.engine import URL

from conduit.db import url as db_url

USAGE = "usage: mysql_database.py create SERVER_URL PREFIX | drop DATABASE_URL"


async def create(server: URL, prefix: str) -> URL:
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _admin(server, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    return server.set(database=name)


async def drop(database: URL) -> None:
    await _admin(database, f"DROP DATABASE IF EXISTS `{database.database}`")


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 3 and argv[0] == "create":
            server = db_url.parse(argv[1])
            if server.get_backend_name() != "mysql":
                raise db_url.InvalidDatabaseURL("is not a MySQL URL")
            created = asyncio.run(create(server, argv[2]))
            print(created.set(drivername="mysql").render_as_string(hide_password=False))
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
