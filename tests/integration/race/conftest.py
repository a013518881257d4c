"""The race tests' application: the shared ``app`` and ``client``, on a committing database.

The shared fixtures run every request on one connection inside one rolled-back transaction,
which cannot race. Here ``app`` serves ``committing_database`` (a migrated PostgreSQL database
of the test module's own, whose units of work commit, through a real pool).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from conduit.db.session import Database
from tests.conftest import patient_app


@pytest.fixture
def app(committing_database: Database) -> FastAPI:
    return patient_app(committing_database)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://conduit.test") as client:
        yield client
