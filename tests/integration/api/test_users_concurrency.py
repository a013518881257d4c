"""Registration under concurrency, on PostgreSQL and MySQL with real, separate connections.

The shared test fixtures run every request on one connection inside one transaction, which
cannot race; these tests build an application of their own on a fresh database instead.
Uniqueness rests on the unique constraints, so a registration that loses a race gets 409.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from conduit.db.model import uuid7
from conduit.db.session import Database
from conduit.domain.users.models import User
from tests.conftest import asgi_client, patient_app
from tests.factories import PASSWORD_HASH
from tests.locks import wait_for_lock_waiters

TAKEN = {"errors": {"username": ["has already been taken"]}}


@pytest.fixture
async def racing_client(racing_database) -> AsyncIterator[httpx.AsyncClient]:
    # Open two pooled connections up front, so that neither request waits on a connect.
    async def hold() -> None:
        async with racing_database.engine.connect():
            await asyncio.sleep(0.05)

    await asyncio.gather(hold(), hold())
    app = patient_app(racing_database)
    async with asgi_client(app) as client:
        yield client


async def register(client: httpx.AsyncClient, username: str, email: str) -> httpx.Response:
    user: dict[str, Any] = {"username": username, "email": email, "password": "password"}
    return await client.post("/api/users", json={"user": user})


async def usernames(database: Database, username: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(select(User.email).where(User.username == username))
        return list(rows.scalars())


async def wait_for_a_blocked_insert(database: Database) -> None:
    """Return once some session waits on a lock inside an INSERT INTO users (INSERT IGNORE on
    MySQL)."""
    async with database.engine.connect() as conn:
        await wait_for_lock_waiters(conn, query_like="INSERT %INTO users%")


async def test_simultaneous_registrations_of_one_username_give_one_201_and_one_409(
    racing_client, racing_database
):
    responses = await asyncio.gather(
        register(racing_client, "race", "one@race.example"),
        register(racing_client, "race", "two@race.example"),
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert next(r for r in responses if r.status_code == 409).json() == TAKEN
    assert len(await usernames(racing_database, "race")) == 1


@pytest.mark.parametrize(
    ("rival_commits", "expected"), [(True, 409), (False, 201)], ids=["commits", "rolls-back"]
)
async def test_a_registration_racing_an_uncommitted_one_waits_for_its_outcome(
    racing_client, racing_database, rival_commits, expected
):
    # The rival has inserted the username but not committed: a read-before-insert check would
    # see nothing. The request's INSERT must wait on the unique index and follow the outcome.
    username = f"rival_{expected}"
    async with racing_database.engine.connect() as rival:
        await rival.execute(
            insert(User).values(
                id=uuid7(),
                username=username,
                email=f"{username}@rival.example",
                password_hash=PASSWORD_HASH,
            )
        )
        request = asyncio.create_task(register(racing_client, username, "me@racer.example"))
        await wait_for_a_blocked_insert(racing_database)
        assert not request.done()
        await (rival.commit() if rival_commits else rival.rollback())
        response = await request
    assert response.status_code == expected
    if expected == 409:
        assert response.json() == TAKEN
    assert len(await usernames(racing_database, username)) == 1
