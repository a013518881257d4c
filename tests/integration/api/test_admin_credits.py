"""POST /api/admin/credits/grant: one bulk UPDATE ... RETURNING and one bulk ledger INSERT."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from conduit.domain.credits.models import CreditTransfer
from conduit.domain.users.models import CREDITS_MAX, User
from tests.factories import make_user
from tests.statements import assert_max_statements, mysql_extra


async def grant(client, admin, usernames, amount):
    return await client.post(
        "/api/admin/credits/grant",
        json={"grant": {"usernames": usernames, "amount": amount}},
        headers=admin.auth,
    )


async def balances(database, *users) -> dict[str, int]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            select(User.username, User.credits).where(User.id.in_([u.user.id for u in users]))
        )
        return dict(rows.all())


async def ledger(database) -> list[tuple[object, object, int]]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            select(CreditTransfer.from_user_id, CreditTransfer.to_user_id, CreditTransfer.amount)
        )
        return sorted((tuple(row) for row in rows), key=str)


async def test_grant_credits_each_name_once_with_a_platform_ledger_row(
    app, client, database, dialect
):
    admin = await make_user(app, role="admin")
    ann = await make_user(app, username="ann", credits=100)
    bob = await make_user(app, username="bob", credits=7)
    # authentication, the bulk UPDATE ... RETURNING, the multi-row ledger INSERT
    with assert_max_statements(3 + mysql_extra(dialect)) as stats:
        response = await grant(client, admin, ["bob", "ann", "bob", " ann "], 50)
    assert stats.count == 3 + mysql_extra(dialect)
    assert response.status_code == 200
    assert response.json() == {
        "grant": {
            "amount": 50,
            "count": 2,
            "recipients": [
                {"username": "ann", "balance": 150},
                {"username": "bob", "balance": 57},
            ],
        }
    }
    assert await balances(database, ann, bob) == {"ann": 150, "bob": 57}
    assert await ledger(database) == sorted(
        [(None, ann.user.id, 50), (None, bob.user.id, 50)], key=str
    )


async def test_a_grant_to_many_accounts_costs_the_same_three_statements(
    app, client, database, dialect
):
    admin = await make_user(app, role="admin")
    users = [await make_user(app, credits=0) for _ in range(40)]
    with assert_max_statements(3 + mysql_extra(dialect)):
        response = await grant(client, admin, [u.username for u in users], 3)
    assert response.json()["grant"]["count"] == 40
    assert set((await balances(database, *users)).values()) == {3}
    assert len(await ledger(database)) == 40


async def test_unknown_usernames_are_listed_and_nothing_is_granted(app, client, database):
    admin = await make_user(app, role="admin")
    ann = await make_user(app, username="ann", credits=100)
    # authentication, the UPDATE, then one read explaining the refusal (rolled back)
    with assert_max_statements(3):
        response = await grant(client, admin, ["ann", "zed", "ghost", "zed"], 10)
    assert response.status_code == 422
    assert response.json() == {"errors": {"usernames": ["ghost is unknown", "zed is unknown"]}}
    assert await balances(database, ann) == {"ann": 100}
    assert await ledger(database) == []


async def test_deactivated_accounts_are_refused(app, client, database):
    admin = await make_user(app, role="admin")
    ann = await make_user(app, username="ann", credits=100)
    await make_user(app, username="gone", is_active=False)
    response = await grant(client, admin, ["ann", "gone", "nobody"], 10)
    assert response.status_code == 422
    assert response.json() == {
        "errors": {"usernames": ["gone is deactivated", "nobody is unknown"]}
    }
    assert await balances(database, ann) == {"ann": 100}
    assert await ledger(database) == []


async def test_a_grant_that_would_overflow_a_balance_is_refused(app, client, database):
    admin = await make_user(app, role="admin")
    rich = await make_user(app, username="rich")
    async with database.unit_of_work() as session:
        await session.execute(
            update(User).where(User.id == rich.user.id).values(credits=CREDITS_MAX - 5)
        )
    response = await grant(client, admin, ["rich"], 6)
    assert response.status_code == 422
    assert response.json() == {
        "errors": {"usernames": [f"rich would exceed the maximum balance of {CREDITS_MAX}"]}
    }
    ok = await grant(client, admin, ["rich"], 5)
    assert ok.json()["grant"]["recipients"] == [{"username": "rich", "balance": CREDITS_MAX}]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0, "must be a positive integer"),
        (-5, "must be a positive integer"),
        (1.5, "must be a positive integer"),
        (5.0, "must be a positive integer"),
        ("5", "must be a positive integer"),
        (True, "must be a positive integer"),
        (None, "can't be blank"),
        (1_000_001, "must be at most 1000000"),
    ],
)
async def test_the_amount_must_be_a_positive_integer(app, client, database, amount, message):
    admin = await make_user(app, role="admin")
    ann = await make_user(app, username="ann", credits=100)
    response = await grant(client, admin, ["ann"], amount)
    assert response.status_code == 422
    assert response.json() == {"errors": {"amount": [message]}}
    assert await balances(database, ann) == {"ann": 100}


@pytest.mark.parametrize(
    "body",
    [
        {"grant": {"usernames": [], "amount": 5}},
        {"grant": {"usernames": None, "amount": 5}},
        {"grant": {"amount": 5}},
        {"grant": {"usernames": "ann", "amount": 5}},
        {"grant": {"usernames": [""], "amount": 5}},
        {"grant": {"usernames": ["x" * 65], "amount": 5}},
    ],
)
async def test_the_usernames_must_be_a_non_empty_list_of_names(app, client, body):
    admin = await make_user(app, role="admin")
    response = await client.post("/api/admin/credits/grant", json=body, headers=admin.auth)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["usernames"]


async def test_the_grant_wrapper_is_required(app, client):
    admin = await make_user(app, role="admin")
    response = await client.post(
        "/api/admin/credits/grant", json={"usernames": ["ann"], "amount": 5}, headers=admin.auth
    )
    assert response.status_code == 422
    assert response.json() == {"errors": {"grant": ["can't be blank"]}}
