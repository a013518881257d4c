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
import time
import uuid
from pathlib import Path

import pytest
from scripts import topology as topo

from conduit.db.migrations import Migrations
from tests.conftest import MIGRATIONS_DIR, make_settings
from tests.integration.failover_support import crash, write_through_failover
from tests.integration.topology_support import running_topology
from tests.live_server import serving

pytestmark = pytest.mark.postgres_only

PORTS = 4  # (unused HAProxy), PgBouncer, primary, replica
REQUEST_TIMEOUT_S = 5.0
RECOVERY_DEADLINE_S = 5.0
GAP_S = 2.0


def _promote(part: topo.Part) -> None:
    assert part.data_dir is not None
    pg_ctl = str(topo.pg_bindir() / "pg_ctl")
    # As the postgres account when root, the way the topology runs pg_ctl.
    topo._run(
        [pg_ctl, "-D", part.data_dir, "-w", "-t", "30", "promote"],
        as_postgres=True,
        cwd=Path(part.data_dir).parent,
    )


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
        pid = topo.running_pid(primary)
        assert pid is not None

        async def promote_after_the_gap() -> float:
            await asyncio.sleep(GAP_S)
            await asyncio.to_thread(_promote, replica)
            return time.monotonic()

        name = f"fo{uuid.uuid4().hex[:10]}"
        with serving(settings.async_database_url, tmp_path, env=env) as server:
            outcome = await write_through_failover(
                server.base_url,
                name,
                load_before_s=2.0,
                fail=lambda: crash(pid),
                recover=promote_after_the_gap,
                deadline_s=RECOVERY_DEADLINE_S + 2,
            )
        rows = topo.psql(
            replica.port,
            f"SELECT slug FROM articles WHERE title LIKE '{name} w%'",
            database="conduit",
        )
        found = {row[0] for row in rows}
        print(f"failover (pg_ctl promote): {outcome.summary(found)}")

        assert outcome.acknowledged - found == set()
        assert any(w.status == 201 and w.finished < outcome.failed_at for w in outcome.writes)
        assert outcome.gap, "no write fell in the gap"
        assert {w.status for w in outcome.gap} == {503}
        assert all(w.retry_after for w in outcome.gap)
        assert max(w.finished - w.started for w in outcome.writes) < REQUEST_TIMEOUT_S + 1
        first = outcome.first_success_s
        assert first is not None
        assert first < RECOVERY_DEADLINE_S
