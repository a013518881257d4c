"""Create or drop a throwaway database on the server of a URL (PostgreSQL or MySQL/MariaDB).

    python scripts/scratch_database.py create SERVER_URL PREFIX   # prints the new database's URL
    python scripts/scratch_database.py drop DATABASE_URL

The CI script and the conformance runs use it, so none needs psql or a mysql client on the
PATH. Any spelling Conduit accepts works (postgres://, postgresql+asyncpg://, mysql://,
mariadb:// ...); the printed URL is plain ``postgresql://`` or ``mysql://`` and carries the
password, so capture it rather than echoing it.
"""

from __future__ import annotations

import asyncio
import sys

from conduit.db import url as db_url
from conduit.db.scratch import MAINTENANCE_DATABASE, create_database, drop_database

USAGE = "usage: scratch_database.py create SERVER_URL PREFIX | drop DATABASE_URL"


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 3 and argv[0] == "create":
            server = db_url.parse(argv[1])
            backend = server.get_backend_name()
            if backend not in MAINTENANCE_DATABASE:
                raise db_url.InvalidDatabaseURL("is not a PostgreSQL or MySQL URL")
            created = asyncio.run(create_database(server, prefix=argv[2]))
            print(created.set(drivername=backend).render_as_string(hide_password=False))
            return 0
        if len(argv) == 2 and argv[0] == "drop":
            asyncio.run(drop_database(db_url.parse(argv[1])))
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
