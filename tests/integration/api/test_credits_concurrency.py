"""Credit transfers under real concurrency, on every dialect.

The shared fixtures run every request on one connection inside one rolled-back transaction,
which cannot race; these tests use an application of their own on a fresh, migrated database
whose units of work really commit, and fire the requests at once with ``asyncio.gather`` so
they run on separate pooled connections. PostgreSQL and MySQL serialise transfers with row
locks, SQLite with its database write lock; the tests that hold a row lock from the outside
run on the servers with row locks (PostgreSQL, and MySQL with TEST_MYSQL_URL).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import or_, select, update

from conduit.db.session import Database
from conduit.domain.credits.models import CreditTransfer
from conduit.domain.users.models import User
from tests.conftest import PATIENT_WAITS, asgi_client, patient_app, racing_dialects
from tests.factories import MadeUser, make_user
from tests.locks import wait_for_lock_waiters
from tests.pool import peak_connections
from tests.scratch import Scratch

INSUFFICIENT = {"errors": {"amount": ["insufficient credits"]}}


@pytest.fixture(scope="module")
async def sqlite_committing_database(scratch_databases: Scratch) -> AsyncIterator[Database]:
    """A migrated SQLite file of the module's own (a file, so that it runs in WAL mode)."""
    async with scratch_databases.database("sqlite", settings=PATIENT_WAITS) as database:
        yield database


@pytest.fixture(scope="module", params=["sqlite", *racing_dialects()])
def any_database(request: pytest.FixtureRequest) -> Database:
    """A database of each dialect whose units of work commit."""
    name = {
        "postgresql": "committing_database",
        "mysql": "mysql_committing_database",
        "sqlite": "sqlite_committing_database",
    }[request.param]
    database: Database = request.getfixturevalue(name)
    return database


@pytest.fixture
def any_app(any_database: Database) -> FastAPI:
    return patient_app(any_database)


@pytest.fixture
async def any_client(any_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(any_app) as client:
        yield client


@pytest.fixture
def racing_app(racing_database: Database) -> FastAPI:
    return patient_app(racing_database)


@pytest.fixture
async def racing_client(racing_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(racing_app) as client:
        yield client


async def send(
    client: httpx.AsyncClient, sender: MadeUser, to: MadeUser, amount: int
) -> httpx.Response:
    return await client.post(
        "/api/credits/transfer",
        json={"transfer": {"to": to.username, "amount": amount}},
        headers=sender.auth,
    )


async def balances(database: Database, users: list[MadeUser]) -> dict[str, int]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            select(User.username, User.credits).where(User.id.in_([u.user.id for u in users]))
        )
        return {row.username: row.credits for row in rows}


async def wait_for_blocked_transfers(database: Database, count: int) -> None:
    """Return once ``count`` sessions wait on a row lock in a transfer's locking read."""
    async with database.engine.connect() as conn:
        await wait_for_lock_waiters(conn, count=count, query_like="%FOR %UPDATE%")


@contextmanager
def retries_logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    found: list[str] = []
    with caplog.at_level(logging.INFO, logger="conduit.db.retry"):
        yield found
    found.extend(r.getMessage() for r in caplog.records if r.name == "conduit.db.retry")


async def test_200_concurrent_random_transfers_among_20_users_conserve_every_credit(
    any_app, any_client, any_database, caplog
):
    users = [await make_user(any_app, credits=100) for _ in range(20)]
    rng = random.Random(20_000)  # noqa: S311 - a reproducible plan, not a secret
    plan = []
    # SQLite's busy handler polls for the write lock with sleeps, so a queue of writers drains
    # slowly there: fewer transfers keep the test quick and still contend on every one.
    transfers = 60 if any_database.engine.dialect.name == "sqlite" else 200
    for _ in range(transfers):
        sender, recipient = rng.sample(users, 2)
        plan.append((sender, recipient, rng.randint(1, 60)))

    with retries_logged(caplog) as retries, peak_connections(any_database) as peak:
        responses = await asyncio.gather(*(send(any_client, *step) for step in plan))

    assert peak[0] > 2
    refused = [r for r in responses if r.status_code != 201]
    assert all(r.status_code == 422 and r.json() == INSUFFICIENT for r in refused), [
        (r.status_code, r.text) for r in refused[:5]
    ]
    # Ordered row locks (PostgreSQL, MySQL) and taking the write lock first (SQLite) leave
    # nothing to retry: not one deadlock, serialization failure or "database is locked".
    assert retries == []

    final = await balances(any_database, users)
    assert sum(final.values()) == 100 * len(users)
    assert min(final.values()) >= 0

    # Replay the ledger per user. Every entry of a user was written while that user's row (or
    # the whole database) was locked, so id order is the order in which they happened: the
    # balance never dips below zero, each sender saw the balance its response reported, and
    # the replay ends at the stored balance.
    ids = {u.user.id: u.username for u in users}
    async with any_database.unit_of_work() as session:
        ledger = (
            await session.execute(
                select(CreditTransfer)
                .where(
                    or_(CreditTransfer.from_user_id.in_(ids), CreditTransfer.to_user_id.in_(ids))
                )
                .order_by(CreditTransfer.id)
            )
        ).scalars()
        entries = list(ledger)
    accepted = {
        r.json()["transfer"]["id"]: r.json()["balance"] for r in responses if r.status_code == 201
    }
    assert len(entries) == len(accepted)
    running: dict[str, int] = defaultdict(lambda: 100)
    for entry in entries:
        payer, payee = ids[entry.from_user_id], ids[entry.to_user_id]
        running[payer] -= entry.amount
        running[payee] += entry.amount
        assert running[payer] >= 0
        assert accepted[entry.id] == running[payer]
    assert {name: running[name] for name in final} == final


async def test_opposite_transfers_between_two_users_at_once_both_succeed(
    racing_app, racing_client, racing_database, caplog
):
    alice = await make_user(racing_app, credits=100)
    bob = await make_user(racing_app, credits=100)
    first = min(alice.user.id, bob.user.id)

    with retries_logged(caplog) as retries:
        # Hold the first row both transfers will lock, so that both are provably in flight and
        # waiting at the same moment before either can proceed.
        async with racing_database.engine.connect() as rival:
            await rival.execute(select(User.id).where(User.id == first).with_for_update())
            pending = [
                asyncio.create_task(send(racing_client, alice, bob, 30)),
                asyncio.create_task(send(racing_client, bob, alice, 50)),
            ]
            await wait_for_blocked_transfers(racing_database, 2)
            await rival.rollback()
        responses = await asyncio.gather(*pending)

    assert [r.status_code for r in responses] == [201, 201]
    assert retries == []
    assert await balances(racing_database, [alice, bob]) == {
        alice.username: 120,
        bob.username: 80,
    }


async def test_rounds_of_opposite_transfers_fired_together_all_succeed(
    any_app, any_client, any_database, caplog
):
    alice = await make_user(any_app, credits=100)
    bob = await make_user(any_app, credits=100)
    with retries_logged(caplog) as retries:
        for amount in range(1, 21):
            responses = await asyncio.gather(
                send(any_client, alice, bob, amount), send(any_client, bob, alice, amount)
            )
            assert [r.status_code for r in responses] == [201, 201]
    assert retries == []
    assert await balances(any_database, [alice, bob]) == {
        alice.username: 100,
        bob.username: 100,
    }


async def test_a_sender_deactivated_while_the_transfer_waits_for_its_row_is_403(
    racing_app, racing_client, racing_database
):
    alice = await make_user(racing_app, credits=100)
    bob = await make_user(racing_app, credits=100)
    async with racing_database.engine.connect() as rival:
        await rival.execute(select(User.id).where(User.id == alice.user.id).with_for_update())
        # Authentication does not wait on row locks: the request gets as far as the transfer.
        pending = asyncio.create_task(send(racing_client, alice, bob, 30))
        await wait_for_blocked_transfers(racing_database, 1)
        await rival.execute(update(User).where(User.id == alice.user.id).values(is_active=False))
        await rival.commit()
    response = await pending
    assert response.status_code == 403
    assert response.json() == {"errors": {"user": ["is deactivated"]}}
    assert await balances(racing_database, [alice, bob]) == {
        alice.username: 100,
        bob.username: 100,
    }


async def test_a_transfer_holds_one_pooled_connection_at_a_time(any_app, any_client, any_database):
    # Authentication's unit of work ends before the transfer's begins: a request holding one
    # connection while it waits for a second would drain the pool under load.
    alice = await make_user(any_app, credits=100)
    bob = await make_user(any_app, credits=100)
    with peak_connections(any_database) as peak:
        response = await send(any_client, alice, bob, 1)
    assert response.status_code == 201
    assert peak[0] == 1
