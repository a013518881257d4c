"""Database liveness: a round trip with its latency and the server's version."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.db.errors import Unavailable, translate


@dataclass(frozen=True, slots=True)
class Ping:
    latency_ms: float
    server_version: str
    dialect: str


async def ping(engine: AsyncEngine, *, timeout: float = 5.0) -> Ping:
    """Run one round trip; raise :class:`Unavailable` if it fails or takes over ``timeout`` s."""
    try:
        return await asyncio.wait_for(_ping(engine), timeout=timeout)
    except TimeoutError:
        raise Unavailable(f"no answer from the database within {timeout:g} s") from None
    except (SQLAlchemyError, OSError) as exc:
        raise translate(exc) from exc


async def _ping(engine: AsyncEngine) -> Ping:
    async with engine.connect() as conn:
        started = time.perf_counter()
        await conn.execute(text("SELECT 1"))
        latency_ms = (time.perf_counter() - started) * 1000
        version_query = {
            "sqlite": "SELECT sqlite_version()",
            "mysql": "SELECT VERSION()",
        }.get(engine.dialect.name, "SHOW server_version")
        version = (await conn.execute(text(version_query))).scalar_one()
    return Ping(latency_ms=latency_ms, server_version=str(version), dialect=engine.dialect.name)


@dataclass(frozen=True, slots=True)
class Extension:
    name: str
    installed_version: str | None
    available: bool


async def extensions(engine: AsyncEngine, *, names: tuple[str, ...]) -> list[Extension]:
    """Whether each PostgreSQL extension in ``names`` is installed, or at least available."""
    if engine.dialect.name != "postgresql":
        return []
    query = text(
        "SELECT a.name, e.extversion FROM pg_available_extensions a"
        " LEFT JOIN pg_extension e ON e.extname = a.name WHERE a.name = ANY(:names)"
    )
    try:
        async with engine.connect() as conn:
            result = await conn.execute(query, {"names": list(names)})
            rows: dict[str, str | None] = {row.name: row.extversion for row in result.all()}
    except (SQLAlchemyError, OSError) as exc:
        raise translate(exc) from exc
    return [
        Extension(name=name, installed_version=rows.get(name), available=name in rows)
        for name in names
    ]
