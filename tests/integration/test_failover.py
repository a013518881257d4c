"""Failover without lost writes, on real processes.

A primary with a synchronous replica (scripts/topology.sh ``--replicas 1 --sync --instances 0``)
and one ``conduit serve`` given both as a multi-host ``DATABASE_URL`` with
``target_session_attrs=read-write``. Under a steady write load the primary is killed with
SIGKILL (the postmaster and every backend: a crashed machine), then the replica is promoted
with ``pg_ctl promote``, as an HA manager would. Every write answered 201, before, during and
after, is on the new primary; the writes in the gap answer 503 with ``Retry-After`` within the
request deadline; writes succeed again within 5 s of the promotion, without restarting Conduit.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from scripts import topology as topo

from conduit.db.migrations import Migrations
from tests.conftest import MIGRATIONS_DIR, make_settings
from tests.integration.topology_support import running_topology
from tests.live_server import serving

pytestmark = pytest.mark.postgres_only

PORTS = 4  # (unused HAProxy), PgBouncer, primary, replica
WRITERS = 4
REQUEST_TIMEOUT_S = 5.0
RECOVERY_DEADLINE_S = 5.0
LOAD_BEFORE_KILL_S = 2.0
GAP_S = 2.0
LOAD_AFTER_RECOVERY_S = 2.0


@dataclass(frozen=True)
class Write:
    title: str
    status: int
    slug: str | None
    retry_after: str | None
    started: float
    finished: float


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _crash(part: topo.Part) -> None:
    """SIGKILL the server's postmaster and all its processes at once, as a machine crash would."""
    pid = topo.running_pid(part)
    assert pid is not None, "the primary is not running"
    for victim in [pid, *_children(pid)]:
        os.kill(victim, signal.SIGKILL)


def _promote(part: topo.Part) -> None:
    assert part.data_dir is not None
    pg_ctl = str(topo.pg_bindir() / "pg_ctl")
    # As the postgres account when root, the way the topology runs pg_ctl.
    topo._run(
        [pg_ctl, "-D", part.data_dir, "-w", "-t", "30", "promote"],
        as_postgres=True,
        cwd=Path(part.data_dir).parent,
    )


async def _writer(
    client: httpx.AsyncClient, token: str, name: str, stop: asyncio.Event, writes: list[Write]
) -> None:
    count = 0
    while not stop.is_set():
        count += 1
        title = f"{name} {count}"
        body = {"article": {"title": title, "description": "d", "body": "b"}}
        started = time.monotonic()
        response = await client.post(
            "/api/articles", json=body, headers={"Authorization": f"Token {token}"}
        )
        slug = response.json()["article"]["slug"] if response.status_code == 201 else None
        writes.append(
            Write(
                title, response.status_code, slug, response.headers.get("Retry-After"),
                started, time.monotonic(),
            )
        )  # fmt: skip
        if response.status_code != 201:
            await asyncio.sleep(0.05)  # as a client honouring a short back-off would


async def test_no_acknowledged_write_is_lost_when_the_primary_fails_over(tmp_path: Path):
    with running_topology(
        "--replicas", "1", "--sync", "--instances", "0", ports=PORTS
    ) as topology:  # fmt: skip
        primary, replica = topology.part("primary"), topology.part("replica1")
        settings = make_settings(topology.direct_url)
        await Migrations(settings.database, script_location=MIGRATIONS_DIR).upgrade()
        hosts = f"{topo.HOST}:{primary.port},{topo.HOST}:{replica.port}"
        env = {
            "DATABASE_URL": f"postgresql://postgres@{hosts}/conduit?target_session_attrs=read-write",
            "REQUEST_TIMEOUT_S": str(REQUEST_TIMEOUT_S),
            "DB_CONNECT_TIMEOUT": "2",
        }
        with serving(settings.async_database_url, tmp_path, env=env) as server:
            writes: list[Write] = []
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                name = f"fo{uuid.uuid4().hex[:10]}"
                user = {"username": name, "email": f"{name}@example.com", "password": "pw123456"}
                registered = await client.post("/api/users", json={"user": user})
                assert registered.status_code == 201, registered.text
                token = registered.json()["user"]["token"]

                stop = asyncio.Event()
                load = [
                    asyncio.create_task(_writer(client, token, f"{name} w{i}", stop, writes))
                    for i in range(WRITERS)
                ]
                await asyncio.sleep(LOAD_BEFORE_KILL_S)
                await asyncio.to_thread(_crash, primary)
                killed = time.monotonic()
                await asyncio.sleep(GAP_S)
                await asyncio.to_thread(_promote, replica)
                promoted = time.monotonic()
                deadline = promoted + RECOVERY_DEADLINE_S + LOAD_AFTER_RECOVERY_S
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                    recovered = [w for w in writes if w.status == 201 and w.started > promoted]
                    if recovered and time.monotonic() - recovered[0].finished > 1:
                        break
                stop.set()
                await asyncio.gather(*load)

        acknowledged = {w.slug for w in writes if w.status == 201}
        rows = topo.psql(
            replica.port,
            f"SELECT slug FROM articles WHERE title LIKE '{name} w%'",
            database=topology.database,
        )
        found = {row[0] for row in rows}
        gap = [w for w in writes if w.status != 201]
        after = sorted(
            (w for w in writes if w.status == 201 and w.started > killed), key=lambda w: w.finished
        )
        statuses = collections.Counter(w.status for w in writes)
        first_success_s = after[0].finished - promoted if after else None
        print(
            f"failover: {len(writes)} writes {dict(statuses)}; acknowledged {len(acknowledged)}, "
            f"found after promotion {len(acknowledged & found)}; 503 in the gap {len(gap)}; "
            f"first success {first_success_s} s after promotion"
        )

        assert acknowledged - found == set()
        assert [w for w in writes if w.status == 201 and w.finished < killed]  # load before
        assert gap, "no write fell in the gap"
        assert {w.status for w in gap} == {503}, statuses
        assert all(w.retry_after for w in gap)
        assert max(w.finished - w.started for w in writes) < REQUEST_TIMEOUT_S + 1
        assert first_success_s is not None
        assert first_success_s < RECOVERY_DEADLINE_S
