"""The credits ledger: balances, the transfer ledger and its cursor pages (GET /api/credits)."""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from sqlalchemy import insert

from conduit.domain.credits.models import CreditTransfer
from conduit.http.app import create_app
from conduit.http.params import PageKind, cursor_codec
from tests.conftest import make_settings
from tests.factories import make_user
from tests.statements import assert_max_statements

ISO_MILLIS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
INVALID_CURSOR = {"errors": {"cursor": ["is invalid"]}}


async def send(client, sender, to: str, amount: int):
    return await client.post(
        "/api/credits/transfer",
        json={"transfer": {"to": to, "amount": amount}},
        headers=sender.auth,
    )


async def ledger(client, user, **params):
    response = await client.get("/api/credits", params=params, headers=user.auth)
    assert response.status_code == 200, response.text
    return response.json()["credits"]


async def register(client, username: str) -> dict[str, str]:
    user = {"username": username, "email": f"{username}@mail.com", "password": "password"}
    response = await client.post("/api/users", json={"user": user})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Token {response.json()['user']['token']}"}


async def test_a_new_account_starts_with_100_credits_by_default(client, monkeypatch):
    monkeypatch.delenv("INITIAL_CREDITS", raising=False)
    headers = await register(client, "newcomer")
    response = await client.get("/api/credits", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"credits": {"balance": 100, "transfers": [], "nextCursor": None}}


async def test_initial_credits_come_from_the_environment(migrated_url, database, monkeypatch):
    monkeypatch.setenv("INITIAL_CREDITS", "42")
    app = create_app(make_settings(migrated_url), database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://conduit.test") as client:
        headers = await register(client, "configured")
        response = await client.get("/api/credits", headers=headers)
    assert response.json()["credits"]["balance"] == 42


async def test_the_ledger_needs_a_token(client):
    response = await client.get("/api/credits")
    assert response.status_code == 401
    assert response.json() == {"errors": {"token": ["is missing"]}}


async def test_both_parties_see_a_transfer_from_their_own_side(client, app):
    alice = await make_user(app, username="alice", credits=100)
    bob = await make_user(app, username="bob", credits=10)
    sent = (await send(client, alice, "bob", 30)).json()["transfer"]

    mine = await ledger(client, alice)
    theirs = await ledger(client, bob)
    assert mine["balance"] == 70
    assert theirs["balance"] == 40
    assert mine["transfers"] == [sent]
    assert sent["direction"] == "sent"
    assert sent["counterparty"] == "bob"
    assert theirs["transfers"] == [
        {
            "id": sent["id"],
            "direction": "received",
            "counterparty": "alice",
            "amount": 30,
            "createdAt": sent["createdAt"],
        }
    ]
    assert ISO_MILLIS_Z.match(sent["createdAt"])


async def test_the_ledger_lists_sent_and_received_newest_first(client, app):
    alice = await make_user(app, username="alice")
    bob = await make_user(app, username="bob")
    carol = await make_user(app, username="carol")
    await send(client, alice, "bob", 1)
    await send(client, bob, "alice", 2)
    await send(client, carol, "alice", 3)
    await send(client, bob, "carol", 4)  # not alice's

    transfers = (await ledger(client, alice))["transfers"]
    assert [(t["direction"], t["counterparty"], t["amount"]) for t in transfers] == [
        ("received", "carol", 3),
        ("received", "bob", 2),
        ("sent", "bob", 1),
    ]
    assert [t["id"] for t in transfers] == sorted((t["id"] for t in transfers), reverse=True)


async def test_a_platform_grant_shows_as_received_with_no_counterparty(client, app, database):
    alice = await make_user(app, username="alice")
    async with database.unit_of_work() as session:
        await session.execute(insert(CreditTransfer).values(to_user_id=alice.user.id, amount=5))
    [grant] = (await ledger(client, alice))["transfers"]
    assert (grant["direction"], grant["counterparty"], grant["amount"]) == ("received", None, 5)


@pytest.mark.parametrize("limit", [1, 20, 100])
async def test_a_ledger_page_is_two_statements_whatever_its_size(client, app, limit):
    alice = await make_user(app, username="alice", credits=1000)
    bob = await make_user(app, username="bob", credits=1000)
    for n in range(30):
        await send(client, alice if n % 2 else bob, "bob" if n % 2 else "alice", 1)
    # Authentication, then the balance and the page together: for the first page and for one
    # reached through a cursor alike.
    with assert_max_statements(2):
        first = await ledger(client, alice, limit=limit)
    assert len(first["transfers"]) == min(limit, 30)
    if first["nextCursor"] is not None:
        with assert_max_statements(2):
            second = await ledger(client, alice, limit=limit, cursor=first["nextCursor"])
        assert len(second["transfers"]) == min(limit, 30 - limit)


async def test_following_cursors_walks_the_whole_ledger_once(client, app):
    alice = await make_user(app, username="alice", credits=1000)
    bob = await make_user(app, username="bob", credits=1000)
    for n in range(25):
        await send(client, alice if n % 3 else bob, "bob" if n % 3 else "alice", n + 1)

    pages, cursor = [], None
    while True:
        page = await ledger(client, alice, limit=10, **({"cursor": cursor} if cursor else {}))
        pages.append(page["transfers"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert [len(page) for page in pages] == [10, 10, 5]
    ids = [t["id"] for page in pages for t in page]
    assert ids == sorted(set(ids), reverse=True)
    assert sorted(t["amount"] for page in pages for t in page) == list(range(1, 26))


async def test_the_last_full_page_has_no_next_cursor(client, app):
    alice = await make_user(app, username="alice")
    await make_user(app, username="bob")
    for _ in range(4):
        await send(client, alice, "bob", 1)
    page = await ledger(client, alice, limit=4)
    assert len(page["transfers"]) == 4
    assert page["nextCursor"] is None


async def test_new_transfers_do_not_shift_a_page_being_followed(client, app):
    alice = await make_user(app, username="alice")
    await make_user(app, username="bob")
    for _ in range(4):
        await send(client, alice, "bob", 1)
    first = await ledger(client, alice, limit=2)
    await send(client, alice, "bob", 7)  # newer than every page already read
    second = await ledger(client, alice, limit=2, cursor=first["nextCursor"])
    ids = [t["id"] for t in first["transfers"] + second["transfers"]]
    assert len(ids) == len(set(ids)) == 4
    assert 7 not in [t["amount"] for t in second["transfers"]]


def _flip_last_char(cursor: str) -> str:
    return cursor[:-1] + ("A" if cursor[-1] != "A" else "B")


def _forged(cursor: str, new_id: int) -> str:
    # Another position under the genuine cursor's signature.
    _, _, mac = cursor.partition(".")
    body = base64.urlsafe_b64encode(f'["i{new_id}"]'.encode()).rstrip(b"=").decode()
    return f"{body}.{mac}"


@pytest.mark.parametrize(
    "make_cursor",
    [
        lambda _good: "not-a-cursor",
        lambda _good: "%%%",
        lambda _good: "",
        lambda _good: "x" * 500,
        lambda _good: base64.urlsafe_b64encode(b'["i12"]').decode(),
        _flip_last_char,
        lambda good: ("B" if good[0] != "B" else "C") + good[1:],
        lambda good: good[:-1],
        lambda good: _forged(good, 10**9),
    ],
    ids=[
        "garbage",
        "not-base64",
        "empty",
        "overlong",
        "unsigned",
        "tampered-mac",
        "tampered-body",
        "truncated",
        "forged-id",
    ],
)
async def test_a_cursor_the_server_did_not_issue_is_422(client, app, make_cursor):
    alice = await make_user(app, username="alice")
    await make_user(app, username="bob")
    for _ in range(3):
        await send(client, alice, "bob", 1)
    good = (await ledger(client, alice, limit=1))["nextCursor"]
    # Refused before any query but authentication.
    with assert_max_statements(1):
        response = await client.get(
            "/api/credits", params={"cursor": make_cursor(good)}, headers=alice.auth
        )
    assert response.status_code == 422
    assert response.json() == INVALID_CURSOR


async def test_a_cursor_is_only_valid_for_the_account_it_was_issued_to(client, app):
    alice = await make_user(app, username="alice")
    bob = await make_user(app, username="bob")
    for _ in range(3):
        await send(client, alice, "bob", 1)
    alices = (await ledger(client, alice, limit=1))["nextCursor"]
    response = await client.get("/api/credits", params={"cursor": alices}, headers=bob.auth)
    assert response.status_code == 422
    assert response.json() == INVALID_CURSOR


async def test_a_genuinely_signed_cursor_of_another_shape_is_422(client, app, settings):
    # Signed with the service's own key for this account, but not a ledger position: what a
    # cursor from an older release with another sort key would look like.
    alice = await make_user(app, username="alice")
    codec = await cursor_codec(settings)
    odd = codec.encode(("2026-01-01",), kind=PageKind.LEDGER, scope={"owner": alice.user.id.hex})
    response = await client.get("/api/credits", params={"cursor": odd}, headers=alice.auth)
    assert response.status_code == 422
    assert response.json() == INVALID_CURSOR


async def test_a_cursor_signed_for_another_kind_of_list_is_422(client, app, settings):
    # The ledger's own shape, owner and key, but issued for the article list.
    alice = await make_user(app, username="alice")
    codec = await cursor_codec(settings)
    other = codec.encode((1,), kind=PageKind.ARTICLES, scope={"owner": alice.user.id.hex})
    response = await client.get("/api/credits", params={"cursor": other}, headers=alice.auth)
    assert response.status_code == 422
    assert response.json() == INVALID_CURSOR


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
async def test_a_limit_outside_1_to_100_is_422(client, app, limit):
    alice = await make_user(app)
    response = await client.get("/api/credits", params={"limit": limit}, headers=alice.auth)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["limit"]


async def test_the_openapi_document_lists_the_credits_endpoints_and_their_errors(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths["/api/credits"]["get"]["responses"]) >= {"200", "401", "422"}
    transfer = paths["/api/credits/transfer"]["post"]["responses"]
    assert set(transfer) >= {"201", "401", "403", "404", "422", "503"}
