"""Abuse limits: failed logins per account and per address, registrations per address.

Real requests through the real app, each test with limits of its own and a fresh in-memory
budget (one per app). The budget shared through Redis between processes, and the client
address behind a proxy, are tested against real servers in ``test_abuse_server.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import URL

from conduit.db import url as db_url
from conduit.db.migrations import Migrations
from conduit.db.session import Database
from conduit.http.app import create_app
from tests.conftest import MIGRATIONS_DIR, PATIENT_WAITS, asgi_client, make_settings
from tests.factories import PASSWORD, make_user

LOGIN = "/api/users/login"
WRONG = "not the password"


def login(email: str, password: str = WRONG) -> dict[str, dict[str, str]]:
    return {"user": {"email": email, "password": password}}


def new_user(name: str) -> dict[str, dict[str, str]]:
    return {"user": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}}


AppFactory = Callable[..., FastAPI]


@pytest.fixture
def limited_app(migrated_url: URL, database: Database) -> AppFactory:
    """An app over the test's database with the given settings (the abuse limits among them)."""

    def build(**overrides: Any) -> FastAPI:
        return create_app(make_settings(migrated_url, **overrides), database=database)

    return build


@asynccontextmanager
async def client_from(
    app: FastAPI, address: str = "203.0.113.7"
) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, client=(address, 50000)) as client:
        yield client


def assert_throttled(response: httpx.Response, window_s: int) -> None:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= window_s
    assert response.json() == {
        "errors": {"request": [f"too many attempts, retry after {retry_after} s"]}
    }


async def test_failed_logins_for_one_account_are_throttled_then_refused_even_when_right(
    limited_app: AppFactory,
) -> None:
    app = limited_app(rate_limit_login_account="3/minute")
    jake = await make_user(app)
    async with client_from(app) as client:
        for _ in range(3):
            assert (await client.post(LOGIN, json=login(jake.user.email))).status_code == 401
        assert_throttled(await client.post(LOGIN, json=login(jake.user.email)), 60)
        # Spent for the account: the right password waits too, and so does a case variant.
        assert_throttled(await client.post(LOGIN, json=login(jake.user.email, PASSWORD)), 60)
        assert_throttled(await client.post(LOGIN, json=login(jake.user.email.upper())), 60)
        # Another account from the same address is not affected.
        other = await make_user(app)
        assert (await client.post(LOGIN, json=login(other.user.email, PASSWORD))).status_code == 200
    # Nor is the account's budget one address's: another address is refused as well.
    async with client_from(app, "198.51.100.1") as elsewhere:
        assert_throttled(await elsewhere.post(LOGIN, json=login(jake.user.email, PASSWORD)), 60)


async def test_failed_logins_from_one_address_are_throttled_across_accounts(
    limited_app: AppFactory,
) -> None:
    app = limited_app(rate_limit_login_address="3/hour")
    users = [await make_user(app) for _ in range(5)]
    async with client_from(app) as client:
        for user in users[:3]:
            assert (await client.post(LOGIN, json=login(user.user.email))).status_code == 401
        assert_throttled(await client.post(LOGIN, json=login(users[3].user.email)), 3600)
        # Unknown emails count and are refused alike: nothing tells them from real ones.
        assert_throttled(await client.post(LOGIN, json=login("nobody@example.com")), 3600)
    async with client_from(app, "198.51.100.1") as elsewhere:
        response = await elsewhere.post(LOGIN, json=login(users[4].user.email, PASSWORD))
        assert response.status_code == 200


async def test_successful_logins_do_not_count(limited_app: AppFactory) -> None:
    app = limited_app(rate_limit_login_account="2/minute", rate_limit_login_address="2/minute")
    jake = await make_user(app)
    async with client_from(app) as client:
        for _ in range(6):
            response = await client.post(LOGIN, json=login(jake.user.email, PASSWORD))
            assert response.status_code == 200
        assert (await client.post(LOGIN, json=login(jake.user.email))).status_code == 401


async def test_registrations_from_one_address_are_throttled(limited_app: AppFactory) -> None:
    app = limited_app(rate_limit_register_address="2/hour")
    async with client_from(app) as client:
        assert (await client.post("/api/users", json=new_user("reg1"))).status_code == 201
        # A refused registration (taken name) is an attempt too.
        assert (await client.post("/api/users", json=new_user("reg1"))).status_code == 409
        assert_throttled(await client.post("/api/users", json=new_user("reg2")), 3600)
    async with client_from(app, "198.51.100.1") as elsewhere:
        assert (await elsewhere.post("/api/users", json=new_user("reg3"))).status_code == 201


async def test_rate_limit_enabled_false_turns_the_limits_off(limited_app: AppFactory) -> None:
    app = limited_app(
        rate_limit_enabled=False,
        rate_limit_login_account="1/hour",
        rate_limit_login_address="1/hour",
        rate_limit_register_address="1/hour",
    )
    jake = await make_user(app)
    async with client_from(app) as client:
        for _ in range(4):
            assert (await client.post(LOGIN, json=login(jake.user.email))).status_code == 401
        for n in range(3):
            created = await client.post("/api/users", json=new_user(f"free{n}"))
            assert created.status_code == 201


async def test_an_unreachable_redis_lets_requests_through(
    limited_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: every limiter call fails fast. Logins still work.
    app = limited_app(
        rate_limit_storage_url="redis://127.0.0.1:1/0", rate_limit_login_account="1/hour"
    )
    jake = await make_user(app)
    try:
        async with client_from(app) as client:
            for _ in range(3):
                assert (await client.post(LOGIN, json=login(jake.user.email))).status_code == 401
            ok = await client.post(LOGIN, json=login(jake.user.email, PASSWORD))
            assert ok.status_code == 200
    finally:
        await app.state.abuse_limits.aclose()
    assert "rate limits not" in caplog.text


# Floods: many logins at once, on a database of the test's own whose units of work commit (the
# per-test database runs every request on one connection, which cannot serve them at once).


@pytest.fixture
async def flood_database(tmp_path: Path) -> AsyncIterator[tuple[URL, Database]]:
    url = db_url.parse(f"sqlite:///{tmp_path / 'flood.db'}")
    settings = make_settings(url, **PATIENT_WAITS)
    await Migrations(settings.database, script_location=MIGRATIONS_DIR).upgrade()
    database = Database.from_config(settings.database)
    try:
        yield url, database
    finally:
        await database.dispose()


@pytest.mark.parametrize("bound", [1, 3])
async def test_a_login_flood_hashes_at_most_the_bound_at_once(
    flood_database: tuple[URL, Database], bound: int
) -> None:
    url, database = flood_database
    # 24 hashes one or three at a time may outlast the default request deadline on a busy host.
    settings = make_settings(url, password_hash_concurrency=bound, **PATIENT_WAITS)
    app = create_app(settings, database=database)
    async with client_from(app) as client:
        assert (await client.post("/api/users", json=new_user("flood"))).status_code == 201
        right = login("flood@example.com", PASSWORD)
        wrong = [login(f"nobody{n}@example.com") for n in range(12)]
        responses = await asyncio.gather(
            *(client.post(LOGIN, json=body) for body in [right] * 12 + wrong)
        )
        exposition = (await client.get("/metrics")).text
    assert [r.status_code for r in responses] == [200] * 12 + [401] * 12
    # The 24 logins queued for a hashing slot: never more than the bound hashed at once, and
    # the flood kept every slot busy.
    assert app.state.passwords.peak == bound
    assert f"conduit_password_hashes_peak {float(bound)}" in exposition
    assert "conduit_password_hashes_in_progress 0.0" in exposition
    assert "conduit_password_hashes_waiting 0.0" in exposition


@pytest.mark.parametrize("bound", [1, 2])
async def test_a_flood_queued_for_the_hasher_is_refused_once_the_budget_is_spent(
    flood_database: tuple[URL, Database], bound: int
) -> None:
    url, database = flood_database
    settings = make_settings(
        url, password_hash_concurrency=bound, rate_limit_login_account="3/minute"
    )
    app = create_app(settings, database=database)
    async with client_from(app) as client:
        assert (await client.post("/api/users", json=new_user("target"))).status_code == 201
        responses = await asyncio.gather(
            *(client.post(LOGIN, json=login("target@example.com")) for _ in range(20))
        )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {401, 429}
    # All 20 passed the first check at once; the limit is checked again as each gets a hashing
    # slot, so beyond the budget only the failures still being recorded slip through.
    assert 3 <= statuses.count(401) <= 3 + bound
