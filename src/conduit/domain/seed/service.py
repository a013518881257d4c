"""Seeding a database: the guard against clobbering data, then generate, load and finish.

The whole run is one unit of work: a failure anywhere leaves the database as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from conduit.db.session import Database
from conduit.domain.articles import recount
from conduit.domain.seed import load
from conduit.domain.seed.generate import DataSet
from conduit.domain.seed.load import Loaded, Progress
from conduit.domain.seed.spec import DEMO_EMAIL, DEMO_PASSWORD, SeedSpec, Start


class Mode(StrEnum):
    """What to do with a database that already has users."""

    NEW = "new"  # only into a database without users: otherwise raise DatabaseNotEmpty
    RESET = "reset"  # empty every table first
    APPEND = "append"  # add a new, independent data set beside the old one
    IF_EMPTY = "if-empty"  # do nothing


class DatabaseNotEmpty(Exception):
    def __init__(self, users: int) -> None:
        super().__init__(f"the database already has {users} user{'s' if users != 1 else ''}")
        self.users = users


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedReport:
    seeded: bool
    mode: Mode
    dialect: str
    spec: SeedSpec
    tables: list[Loaded] = field(default_factory=list)
    seconds: float = 0.0
    login_email: str | None = None

    @property
    def rows(self) -> int:
        return sum(each.rows for each in self.tables)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        login = None
        if self.login_email is not None:
            login = {"email": self.login_email, "password": DEMO_PASSWORD}
        return {
            "seeded": self.seeded,
            "mode": self.mode.value,
            "dialect": self.dialect,
            "seed": self.spec.seed,
            "until": self.spec.until.isoformat(),
            "tables": {each.table: each.rows for each in self.tables},
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second),
            "login": login,
        }


def demo_password_hash(seed: int) -> str:
    """The argon2id hash every seeded user shares, computed once per run.

    Its salt comes from the seed, so the same seed gives byte-identical rows.
    """
    salt = hashlib.blake2b(f"conduit-seed:{seed}".encode(), digest_size=16).digest()
    return PasswordHash((Argon2Hasher(),)).hash(DEMO_PASSWORD, salt=salt)


async def seed_database(
    database: Database,
    spec: SeedSpec,
    *,
    mode: Mode = Mode.NEW,
    progress: Progress | None = None,
) -> SeedReport:
    """Generate ``spec``'s data set and write it in one transaction."""
    spec.validate()
    dialect = database.engine.dialect.name
    password_hash = await asyncio.to_thread(demo_password_hash, spec.seed)
    started = time.perf_counter()
    async with database.unit_of_work() as session:
        conn = await session.connection()
        await load.prepare(conn)
        users = await load.user_count(conn)
        if users and mode is Mode.IF_EMPTY:
            return SeedReport(seeded=False, mode=mode, dialect=dialect, spec=spec)
        if users and mode is Mode.NEW:
            raise DatabaseNotEmpty(users)
        if mode is Mode.RESET:
            await load.reset(conn)
            start = Start()
        else:
            # Also on an empty users table: tags may remain, and ids continue past old rows.
            start = await load.start_after_existing(conn, user_count=users)
        data = DataSet(spec, password_hash=password_hash, start=start)
        loaded = await load.load(conn, data.tables(), progress=progress)
        # The rows went in around the services: count the live articles they hold.
        await recount.recount(session)
        await load.finish(conn, loaded)
    login_email = None
    if spec.users:
        login_email = DEMO_EMAIL if start.with_demo else str(next(data.user_rows())[1])
    return SeedReport(
        seeded=True,
        mode=mode,
        dialect=dialect,
        spec=spec,
        tables=loaded,
        seconds=time.perf_counter() - started,
        login_email=login_email,
    )
