"""POST /api/credits/transfer: moving credits, every refusal, and all-or-nothing commits."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from conduit.db.session import Database
from conduit.domain.credits import service as credits
from conduit.domain.credits.models import CreditTransfer
from conduit.domain.users.models import User
from tests.factories import make_user
from tests.statements import assert_max_statements

ISO_MILLIS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
INSUFFICIENT = {"errors": {"amount": ["insufficient credits"]}}


def sqlite_extra(dialect: str) -> int:
    """Statements a transfer sends on ``dialect`` beyond those it sends on PostgreSQL.

    On SQLite it starts with a write that takes the database's write lock.
    """
    return 0 if dialect == "postgresql" else 1


async def send(client, sender, body):
    return await client.post("/api/credits/transfer", json=body, headers=sender.auth)


def transfer(to: str, amount: object) -> dict[str, object]:
    return {"transfer": {"to": to, "amount": amount}}


async def balance(database: Database, user_id: uuid.UUID) -> int:
    async with database.unit_of_work() as session:
        query = select(User.credits).where(User.id == user_id)
        return (await session.execute(query)).scalar_one()


async def ledger_size(database: Database) -> int:
    async with database.unit_of_work() as session:
        query = select(func.count()).select_from(CreditTransfer)
        return (await session.execute(query)).scalar_one()


async def snapshot(database, *users) -> tuple[list[int], int]:
    return [await balance(database, u.user.id) for u in users], await ledger_size(database)


async def test_a_transfer_answers_201_the_entry_and_the_new_balance_in_four_statements_on_pg(
    client, app, database, dialect
):
    alice = await make_user(app, username="alice", credits=100)
    bob = await make_user(app, username="bob", credits=5)
    # Authentication, the locking read of both accounts, one UPDATE for both balances, and
    # the ledger INSERT (and SQLite's write lock).
    with assert_max_statements(4 + sqlite_extra(dialect)):
        response = await send(client, alice, transfer("bob", 30))
    assert response.status_code == 201, response.text
    body = response.json()
    entry = body["transfer"]
    assert body["balance"] == 70
    assert isinstance(entry["id"], int)
    assert {k: v for k, v in entry.items() if k not in ("id", "createdAt")} == {
        "direction": "sent",
        "counterparty": "bob",
        "amount": 30,
    }
    assert ISO_MILLIS_Z.match(entry["createdAt"])
    assert await balance(database, alice.user.id) == 70
    assert await balance(database, bob.user.id) == 35
    async with database.unit_of_work() as session:
        row = (await session.execute(select(CreditTransfer))).scalar_one()
    assert (row.id, row.from_user_id, row.to_user_id, row.amount) == (
        entry["id"],
        alice.user.id,
        bob.user.id,
        30,
    )


async def test_the_whole_balance_can_be_sent(client, app, database):
    alice = await make_user(app, username="alice", credits=40)
    bob = await make_user(app, username="bob", credits=0)
    response = await send(client, alice, transfer("bob", 40))
    assert response.status_code == 201
    assert response.json()["balance"] == 0
    assert await balance(database, bob.user.id) == 40


async def test_the_recipient_is_trimmed_and_matched_exactly(client, app):
    alice = await make_user(app, username="alice")
    await make_user(app, username="Bob")
    assert (await send(client, alice, transfer("  Bob ", 1))).status_code == 201
    assert (await send(client, alice, transfer("bob", 1))).status_code == 404


async def test_one_credit_more_than_the_balance_is_insufficient_in_two_statements(
    client, app, database, dialect
):
    alice = await make_user(app, username="alice", credits=40)
    bob = await make_user(app, username="bob", credits=0)
    # Authentication and the locking read: refused before any write.
    with assert_max_statements(2 + sqlite_extra(dialect)):
        response = await send(client, alice, transfer("bob", 41))
    assert response.status_code == 422
    assert response.json() == INSUFFICIENT
    assert await snapshot(database, alice, bob) == ([40, 0], 0)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0, "must be greater than 0"),
        (-5, "must be greater than 0"),
        (1.5, "must be a whole number"),
        (5.0, "must be a whole number"),
        ("5", "must be a whole number"),
        (True, "must be a whole number"),
        ([5], "must be a whole number"),
        (2**31, "must be at most 2147483647"),
        (None, "can't be blank"),
    ],
    ids=["zero", "negative", "fraction", "float", "string", "boolean", "list", "huge", "null"],
)
async def test_an_amount_that_is_not_a_positive_whole_number_is_422(
    client, app, database, amount, message
):
    alice = await make_user(app, username="alice")
    bob = await make_user(app, username="bob")
    # Dependencies (authentication) resolve before the body's errors are reported: one
    # statement, and the transfer never starts.
    with assert_max_statements(1):
        response = await send(client, alice, transfer("bob", amount))
    assert response.status_code == 422
    assert response.json() == {"errors": {"amount": [message]}}
    assert await snapshot(database, alice, bob) == ([100, 100], 0)


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ({"transfer": {"to": "bob"}}, "amount"),
        ({"transfer": {"amount": 5}}, "to"),
        ({"transfer": {"to": "   ", "amount": 5}}, "to"),
        ({"to": "bob", "amount": 5}, "transfer"),
    ],
    ids=["no-amount", "no-recipient", "blank-recipient", "unwrapped"],
)
async def test_a_missing_field_is_422_cant_be_blank(client, app, body, subject):
    alice = await make_user(app, username="alice")
    await make_user(app, username="bob")
    response = await send(client, alice, body)
    assert response.status_code == 422
    assert response.json() == {"errors": {subject: ["can't be blank"]}}


async def test_an_unknown_recipient_is_404_profile_not_found(client, app, database, dialect):
    alice = await make_user(app, username="alice")
    with assert_max_statements(2 + sqlite_extra(dialect)):
        response = await send(client, alice, transfer("nobody", 5))
    assert response.status_code == 404
    assert response.json() == {"errors": {"profile": ["not found"]}}
    assert await snapshot(database, alice) == ([100], 0)


async def test_a_transfer_to_oneself_is_422(client, app, database):
    alice = await make_user(app, username="alice")
    response = await send(client, alice, transfer("alice", 5))
    assert response.status_code == 422
    assert response.json() == {"errors": {"to": ["cannot transfer to yourself"]}}
    assert await snapshot(database, alice) == ([100], 0)


async def test_a_deactivated_recipient_is_422(client, app, database):
    alice = await make_user(app, username="alice")
    gone = await make_user(app, username="gone", is_active=False)
    response = await send(client, alice, transfer("gone", 5))
    assert response.status_code == 422
    assert response.json() == {"errors": {"to": ["is deactivated"]}}
    assert await snapshot(database, alice, gone) == ([100, 100], 0)


async def test_a_deactivated_senders_token_no_longer_works(client, app, database):
    # Authentication refuses the token of a deactivated account before the transfer starts;
    # the 403 below is for an account deactivated while its transfer is already under way.
    gone = await make_user(app, username="gone", is_active=False)
    bob = await make_user(app, username="bob")
    response = await send(client, gone, transfer("bob", 5))
    assert response.status_code == 401
    assert response.json() == {"errors": {"token": ["is invalid"]}}
    assert await snapshot(database, gone, bob) == ([100, 100], 0)


async def test_a_sender_deactivated_after_authentication_is_refused_403(app, database):
    gone = await make_user(app, username="gone", is_active=False)
    await make_user(app, username="bob")
    with pytest.raises(credits.SenderInactive) as refused:
        async with database.unit_of_work() as session:
            await credits.transfer(session, sender_id=gone.user.id, to="bob", amount=5)
    assert (refused.value.subject, refused.value.message) == ("user", "is deactivated")
    assert await ledger_size(database) == 0


async def test_transfers_need_a_token(client, app):
    await make_user(app, username="bob")
    response = await client.post("/api/credits/transfer", json=transfer("bob", 5))
    assert response.status_code == 401
    assert response.json() == {"errors": {"token": ["is missing"]}}


async def test_a_recipient_balance_past_the_column_range_is_refused(client, app, database):
    alice = await make_user(app, username="alice")
    rich = await make_user(app, username="rich", credits=2**31 - 10)
    response = await send(client, alice, transfer("rich", 11))
    assert response.status_code == 422
    assert response.json() == {
        "errors": {"amount": ["would exceed the recipient's maximum balance"]}
    }
    assert await snapshot(database, alice, rich) == ([100, 2**31 - 10], 0)


REFUSE_LEDGER = {
    "postgresql": [
        "CREATE FUNCTION refuse_ledger() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'ledger refused'; END $$",
        "CREATE TRIGGER refuse_ledger BEFORE INSERT ON credit_transfers"
        " FOR EACH ROW EXECUTE FUNCTION refuse_ledger()",
    ],
    "sqlite": [
        "CREATE TRIGGER refuse_ledger BEFORE INSERT ON credit_transfers"
        " BEGIN SELECT RAISE(ABORT, 'ledger refused'); END",
    ],
}


async def test_a_ledger_insert_that_fails_undoes_the_debit_and_the_credit(
    client, app, database, connection, dialect
):
    # The database refuses the ledger row, the last of the three writes: by then both balances
    # have been updated, and the rollback must take them back.
    alice = await make_user(app, username="alice")
    bob = await make_user(app, username="bob")
    if dialect == "mysql":
        pytest.skip("CREATE TRIGGER commits on MySQL: it cannot live in the test's transaction")
    for ddl in REFUSE_LEDGER[dialect]:
        await connection.exec_driver_sql(ddl)
    with assert_max_statements(4 + sqlite_extra(dialect)) as stats:
        response = await send(client, alice, transfer("bob", 30))
    assert any("SET credits" in sql for sql in stats.statements)
    assert response.status_code == 500
    assert response.json() == {"errors": {"server": ["internal error"]}}
    assert await snapshot(database, alice, bob) == ([100, 100], 0)
