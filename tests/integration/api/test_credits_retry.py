"""Transfers that meet a serialization failure are replayed whole, a bounded number of times."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.db.errors import CheckViolation, SerializationFailure
from conduit.db.retry import run_retrying
from conduit.domain.credits.models import CreditTransfer
from conduit.domain.users.models import User
from conduit.http.routes.credits import TRANSFER_ATTEMPTS
from tests.factories import make_user
from tests.statements import count_statements


def flaky_ledger(failures: int) -> list[str]:
    """DDL making the first ``failures`` ledger inserts fail as a serialization failure would.

    The count lives in a sequence because ``nextval`` is not rolled back with the attempt.
    """
    return [
        "CREATE SEQUENCE ledger_attempts",
        "CREATE FUNCTION flaky_ledger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF nextval('ledger_attempts') <= {failures} THEN"
        " RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF;"
        " RETURN NEW; END $$",
        "CREATE TRIGGER flaky_ledger BEFORE INSERT ON credit_transfers"
        " FOR EACH ROW EXECUTE FUNCTION flaky_ledger()",
    ]


async def state(database, *users) -> tuple[list[int], int]:
    async with database.unit_of_work() as session:
        balances = [
            (await session.execute(select(User.credits).where(User.id == u.user.id))).scalar_one()
            for u in users
        ]
        rows = (await session.execute(select(func.count()).select_from(CreditTransfer))).scalar()
    return balances, rows or 0


async def attempts_made(connection: AsyncConnection) -> int:
    made: int = (
        await connection.execute(text("SELECT last_value FROM ledger_attempts"))
    ).scalar_one()
    return made


@pytest.fixture
def postgres_only(dialect: str) -> None:
    if dialect != "postgresql":
        # MySQL could SIGNAL SQLSTATE '40001' from a trigger, but its CREATE TRIGGER commits
        # the test's transaction, which these rolled-back fixtures cannot undo.
        pytest.skip("raises SQLSTATE 40001 from a PL/pgSQL trigger (DDL commits on MySQL)")


@pytest.mark.usefixtures("postgres_only")
async def test_a_transfer_failing_to_serialize_twice_succeeds_on_the_third_attempt_once(
    client, app, database, connection
):
    alice = await make_user(app, username="alice")
    bob = await make_user(app, username="bob")
    for ddl in flaky_ledger(failures=TRANSFER_ATTEMPTS - 1):
        await connection.exec_driver_sql(ddl)
    with count_statements() as stats:
        response = await client.post(
            "/api/credits/transfer",
            json={"transfer": {"to": "bob", "amount": 30}},
            headers=alice.auth,
        )
    assert response.status_code == 201, response.text
    assert response.json()["balance"] == 70
    # Replayed from the locking read each time: authentication once, then three statements
    # per attempt.
    assert stats.count == 1 + 3 * TRANSFER_ATTEMPTS
    assert await attempts_made(connection) == TRANSFER_ATTEMPTS
    assert await state(database, alice, bob) == ([70, 130], 1)


@pytest.mark.usefixtures("postgres_only")
async def test_a_transfer_that_keeps_failing_to_serialize_is_503_and_changes_nothing(
    client, app, database, connection
):
    alice = await make_user(app, username="alice")
    bob = await make_user(app, username="bob")
    for ddl in flaky_ledger(failures=1000):
        await connection.exec_driver_sql(ddl)
    response = await client.post(
        "/api/credits/transfer", json={"transfer": {"to": "bob", "amount": 30}}, headers=alice.auth
    )
    assert response.status_code == 503
    assert response.json() == {"errors": {"database": ["busy"]}}
    assert response.headers["retry-after"] == "1"
    assert await attempts_made(connection) == TRANSFER_ATTEMPTS
    assert await state(database, alice, bob) == ([100, 100], 0)


async def test_each_attempt_gets_a_fresh_unit_of_work_and_only_the_last_commits(
    app, database, caplog
):
    alice = await make_user(app, username="alice", credits=0)
    sessions = []

    async def work(session) -> int:
        sessions.append(session)
        await session.execute(
            update(User).where(User.id == alice.user.id).values(credits=User.credits + 1)
        )
        if len(sessions) < 3:
            raise SerializationFailure("could not serialize access")
        return len(sessions)

    with caplog.at_level(logging.INFO, logger="conduit.db.retry"):
        assert await run_retrying(database, work, attempts=3, base_delay=0.001) == 3
    assert len({id(s) for s in sessions}) == 3
    # The two failed attempts were rolled back: one increment survives.
    assert (await state(database, alice))[0] == [1]
    retries = [r.getMessage() for r in caplog.records if r.name == "conduit.db.retry"]
    assert [m.split(" (")[0] for m in retries] == ["attempt 1 of 3 failed", "attempt 2 of 3 failed"]


async def test_an_error_that_is_not_retryable_is_raised_after_one_attempt(app, database):
    calls = []

    async def work(_session) -> None:
        calls.append(1)
        raise CheckViolation("credits went negative", constraint="ck_users_credits_non_negative")

    with pytest.raises(CheckViolation):
        await run_retrying(database, work, attempts=3, base_delay=0.001)
    assert len(calls) == 1


async def test_the_last_retryable_failure_is_raised_as_it_is(database):
    async def work(_session) -> None:
        raise SerializationFailure("deadlock detected")

    with pytest.raises(SerializationFailure, match="deadlock detected"):
        await run_retrying(database, work, attempts=2, base_delay=0.001)


async def test_fewer_than_one_attempt_is_a_programming_error(database):
    async def work(_session) -> None:  # pragma: no cover - never called
        return None

    with pytest.raises(ValueError, match="at least 1"):
        await run_retrying(database, work, attempts=0)
