"""The race tests' application: the shared ``app`` and ``client``, on a committing database.

The shared fixtures run every request on one connection inside one rolled-back transaction,
which cannot race. Here ``app`` serves ``racing_database`` (a migrated PostgreSQL, and with
TEST_MYSQL_URL MySQL, database of the test module's own, whose units of work commit, through a
real pool).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from conduit.db.session import Database
from tests.conftest import asgi_client, patient_app


@pytest.fixture
def app(racing_database: Database) -> FastAPI:
    return patient_app(racing_database)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client
