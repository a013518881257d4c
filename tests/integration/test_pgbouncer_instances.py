"""Three ``conduit serve`` instances behind HAProxy, through PgBouncer in transaction mode.

On the real processes of scripts/topology.sh (``--replicas 0 --instances 3``): the instances,
started at once on a fresh database, migrate it once; 300 concurrent mixed requests get no 5xx
(no prepared statement or session state outlives its transaction); the statement and lock
timeouts hold behind PgBouncer, and end with their transaction.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from scripts import topology as topo
from sqlalchemy import text

from conduit.db.errors import QueryTimeout
from conduit.db.migrations import Migrations
from conduit.db.session import Database
from tests.conftest import MIGRATIONS_DIR, make_settings
from tests.integration.topology_support import running_topology

pytestmark = pytest.mark.postgres_only

PORTS = 6  # HAProxy, PgBouncer, primary, three instances
CONCURRENT_REQUESTS = 300
GENEROUS = "100000/hour"


@pytest.fixture(scope="module")
def topology() -> Iterator[topo.Topology]:
    # Rate limits in Redis, shared by the instances, under a prefix of this run's own.
    env = {
        "RATE_LIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0",
        "RATE_LIMIT_KEY_PREFIX": f"conduit-test-{uuid.uuid4().hex[:8]}",
        "RATE_LIMIT_REGISTER_ADDRESS": GENEROUS,
        "RATE_LIMIT_LOGIN_ADDRESS": GENEROUS,
    }
    args = [arg for name, value in env.items() for arg in ("--env", f"{name}={value}")]
    with running_topology("--replicas", "0", "--instances", "3", *args, ports=PORTS) as state:
        yield state


def test_instances_started_at_once_migrate_the_database_once(topology: topo.Topology):
    primary = topology.part("primary")
    heads = Migrations(
        make_settings(topology.direct_url).database, script_location=MIGRATIONS_DIR
    ).script.get_heads()

    rows = topo.psql(primary.port, "SELECT version_num FROM alembic_version", database="conduit")

    assert rows == [[head] for head in heads]
    for instance in topology.of_kind("instance"):
        assert topo.running_pid(instance) is not None, instance.name
        assert httpx.get(f"{instance.url}/health/ready", timeout=10).status_code == 200
        log = Path(instance.log).read_text()
        assert "Traceback" not in log, log


async def _register(client: httpx.AsyncClient, name: str) -> str:
    body = {"user": {"username": name, "email": f"{name}@example.com", "password": "password123"}}
    response = await client.post("/api/users", json=body)
    assert response.status_code == 201, response.text
    token: str = response.json()["user"]["token"]
    return token


async def _article(client: httpx.AsyncClient, token: str, title: str) -> str:
    body = {"article": {"title": title, "description": "d", "body": "b", "tagList": ["pgb"]}}
    response = await client.post("/api/articles", json=body, headers=_auth(token))
    assert response.status_code == 201, response.text
    slug: str = response.json()["article"]["slug"]
    return slug


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


async def test_concurrent_mixed_requests_through_pgbouncer_get_no_5xx(topology: topo.Topology):
    run = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=CONCURRENT_REQUESTS)
    async with httpx.AsyncClient(base_url=topology.app_url, timeout=60, limits=limits) as client:
        tokens = [await _register(client, f"pgb{run}{i}") for i in range(3)]
        slugs = [await _article(client, tokens[0], f"pgb {run} {i}") for i in range(3)]

        def request(i: int) -> Any:
            token, slug = tokens[i % len(tokens)], slugs[i % len(slugs)]
            kind = i % 8
            if kind == 0:
                return client.get("/api/articles", params={"limit": 5})
            if kind == 1:
                return client.get(f"/api/articles/{slug}")
            if kind == 2:
                return client.get("/api/tags")
            if kind == 3:
                return client.get("/api/user", headers=_auth(token))
            if kind == 4:
                return client.get(f"/api/profiles/pgb{run}0", headers=_auth(token))
            if kind == 5:
                body = {"article": {"title": f"pgb {run} c{i}", "description": "d", "body": "b"}}
                return client.post("/api/articles", json=body, headers=_auth(token))
            if kind == 6:
                return client.post(f"/api/articles/{slug}/favorite", headers=_auth(token))
            body = {"comment": {"body": f"comment {i}"}}
            return client.post(f"/api/articles/{slug}/comments", json=body, headers=_auth(token))

        responses = await asyncio.gather(*(request(i) for i in range(CONCURRENT_REQUESTS)))

    statuses = collections.Counter(response.status_code for response in responses)
    errors = [r.text for r in responses if r.status_code >= 500]
    assert not errors, (statuses, errors[:3])
    assert set(statuses) <= {200, 201}, statuses
    assert sum(statuses.values()) == CONCURRENT_REQUESTS
    print(f"{CONCURRENT_REQUESTS} concurrent requests through PgBouncer: {dict(statuses)}")


@pytest.fixture
async def bounced(topology: topo.Topology) -> Any:
    """The application's database through PgBouncer, with short limits."""
    settings = make_settings(
        topology.database_url,
        db_pgbouncer=True,
        database_direct_url=topology.direct_url,
        db_statement_timeout_ms=300,
        db_lock_timeout_ms=250,
    )
    database = Database.from_config(settings.database)
    try:
        yield database
    finally:
        await database.dispose()


SETTINGS = text(
    "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'),"
    " current_setting('jit')"
)


async def test_timeouts_hold_behind_pgbouncer_for_reads_and_writes(bounced: Database):
    async with bounced.reader() as session:
        assert tuple((await session.execute(SETTINGS)).one()) == ("300ms", "250ms", "off")
    async with bounced.unit_of_work() as session:
        assert tuple((await session.execute(SETTINGS)).one()) == ("300ms", "250ms", "off")

    with pytest.raises(QueryTimeout):
        async with bounced.reader() as session:
            await session.execute(text("SELECT pg_sleep(3)"))


async def test_the_limits_end_with_their_transaction(topology: topo.Topology, bounced: Database):
    async with bounced.unit_of_work() as session:
        await session.execute(text("SELECT 1"))

    # The next client of PgBouncer's server connections finds the server's defaults.
    pgbouncer = topology.part("pgbouncer")
    for _ in range(5):
        rows = topo.psql(pgbouncer.port, "SHOW statement_timeout", database="conduit")
        assert rows == [["0"]]
