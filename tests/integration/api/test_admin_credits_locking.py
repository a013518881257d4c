"""A grant and a transfer touching the same accounts cannot deadlock (PostgreSQL).

Transfers lock their two accounts in id order. The grant's UPDATE locks its rows through a
``SELECT ... ORDER BY id FOR UPDATE`` subquery, so it takes them in the same order, whatever
order the table or an index would give. Here the accounts are stored so that a scan meets the
higher id first: a grant that locked in scan order would take that row, then wait for the
lower one held by the transfer, which would in turn wait for the higher one: a deadlock.
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import insert, select, text

from conduit.db.model import uuid7
from conduit.domain.users.models import User
from tests.conftest import patient_app
from tests.factories import PASSWORD_HASH, make_user
from tests.locks import wait_for_lock_waiters

WAIT_SECONDS = 10.0


async def wait_for_a_blocked_update(database) -> None:
    async with database.engine.connect() as conn:
        await wait_for_lock_waiters(conn, query_like="UPDATE users%")


async def test_a_grant_locks_in_id_order_so_a_concurrent_transfer_cannot_deadlock(
    committing_database,
):
    database = committing_database
    app = patient_app(database)
    admin = await make_user(app, role="admin")
    low_id, high_id = uuid7(), uuid7()
    async with database.unit_of_work() as session:
        # The higher id is stored first, and its username sorts first too.
        for user_id, name in ((high_id, "aaa"), (low_id, "zzz")):
            await session.execute(
                insert(User).values(
                    id=user_id,
                    username=name,
                    email=f"{name}@example.com",
                    password_hash=PASSWORD_HASH,
                    credits=100,
                )
            )

    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://conduit.test") as client,
        database.engine.connect() as transfer,
    ):
        # A transfer from zzz to aaa, part way through: it holds the lower id.
        await transfer.begin()
        await transfer.execute(text("SET LOCAL lock_timeout = '5s'"))
        locked = select(User.credits).where(User.id == low_id).with_for_update()
        await transfer.execute(locked)

        granting = asyncio.create_task(
            client.post(
                "/api/admin/credits/grant",
                json={"grant": {"usernames": ["aaa", "zzz"], "amount": 10}},
                headers=admin.auth,
            )
        )
        await wait_for_a_blocked_update(database)
        # The grant waits for the lower id without holding the higher: the transfer goes on.
        await transfer.execute(select(User.credits).where(User.id == high_id).with_for_update())
        await transfer.execute(
            text("UPDATE users SET credits = credits - 30 WHERE id = :id"), {"id": low_id}
        )
        await transfer.execute(
            text("UPDATE users SET credits = credits + 30 WHERE id = :id"), {"id": high_id}
        )
        await transfer.commit()

        response = await asyncio.wait_for(granting, WAIT_SECONDS)
    assert response.status_code == 200, response.text
    assert response.json()["grant"]["recipients"] == [
        {"username": "aaa", "balance": 140},
        {"username": "zzz", "balance": 80},
    ]
