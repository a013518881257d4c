"""scripts/topology.sh on the real processes: primary, synchronous replica, PgBouncer, two
``conduit serve`` instances and HAProxy, started, probed, written through, and stopped.

Runs wherever the binaries are installed; with ``REQUIRE_POSTGRES=1`` (CI) a missing binary fails
the module instead of skipping it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from scripts import topology as topo

from tests.integration.topology_support import (
    SCRIPT,
    free_base_port,
    require_binaries,
    running_topology,
    scratch_dir,
    topology_sh,
)

pytestmark = pytest.mark.postgres_only

PORTS = 6  # HAProxy, PgBouncer, primary, one replica, two instances
REPLICATION_DEADLINE_S = 15.0


def _status(directory: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    done = topology_sh("status", "--dir", str(directory), "--json")
    return done.returncode, {part["name"]: part for part in json.loads(done.stdout)}


def _processes(state: topo.Topology) -> list[tuple[int, int | None]]:
    """(pid, start time) of every running process of the topology, PostgreSQL servers included."""
    pids = [topo.running_pid(part) for part in state.parts]
    return [(pid, topo.start_time(pid)) for pid in pids if pid is not None]


@pytest.fixture(scope="module")
def topology() -> Iterator[topo.Topology]:
    # The access log (off by default) shows which instance served each request.
    with running_topology(
        "--replicas", "1", "--sync", "--instances", "2", "--env", "ACCESS_LOG=true", ports=PORTS
    ) as state:
        yield state


def test_status_shows_each_part_with_its_role_and_replication_lag(topology: topo.Topology):
    code, parts = _status(Path(topology.dir))

    assert code == 0, parts
    assert list(parts) == ["primary", "replica1", "pgbouncer", "instance1", "instance2", "haproxy"]
    assert all(part["up"] for part in parts.values())
    assert parts["primary"]["role"] == "primary"
    [standby] = parts["primary"]["standbys"]
    assert standby["name"] == "replica1"
    assert (standby["state"], standby["sync_state"]) == ("streaming", "sync")
    assert standby["lag_bytes"] >= 0
    assert parts["replica1"]["role"] == "replica"
    assert parts["replica1"]["lag_s"] >= 0
    assert parts["replica1"]["lag_bytes"] >= 0
    assert parts["haproxy"]["url"] == topology.app_url
    assert parts["haproxy"]["detail"].startswith("2/2 instances UP")


def test_a_user_registered_through_haproxy_appears_on_the_replica(topology: topo.Topology):
    name = f"topo{uuid.uuid4().hex[:10]}"
    body = {"user": {"username": name, "email": f"{name}@example.com", "password": "password123"}}

    response = httpx.post(f"{topology.app_url}/api/users", json=body, timeout=30)

    assert response.status_code == 201, response.text
    replica = topology.part("replica1")
    sql = f"SELECT count(*) FROM users WHERE username = '{name}'"
    deadline = time.monotonic() + REPLICATION_DEADLINE_S
    while topo.psql(replica.port, sql, database=topology.database) != [["1"]]:
        assert time.monotonic() < deadline, f"{name} not replayed on the replica"
        time.sleep(0.1)


def test_haproxy_spreads_requests_over_both_instances(topology: topo.Topology):
    # The liveness probe touches no database: the spread is HAProxy's alone.
    path = f"/health?probe={uuid.uuid4().hex}"

    for _ in range(4):
        assert httpx.get(f"{topology.app_url}{path}", timeout=30).status_code == 200

    served = [Path(part.log).read_text().count(path) for part in topology.of_kind("instance")]
    assert served == [2, 2]


def test_pgbouncer_pools_transactions_in_front_of_the_primary(topology: topo.Topology):
    pgbouncer = topology.part("pgbouncer")

    [[in_recovery, timeout]] = topo.psql(
        pgbouncer.port,
        "SELECT pg_is_in_recovery(), current_setting('statement_timeout')",
        database=topology.database,
    )
    config = dict(row[:2] for row in topo.psql(pgbouncer.port, "SHOW CONFIG", database="pgbouncer"))

    assert in_recovery == "f"  # the primary
    # Nothing set on the server for Conduit's sake: it sets its limits per transaction.
    assert timeout == "0"
    assert config["pool_mode"] == "transaction"


def test_status_fails_when_nothing_is_recorded(tmp_path: Path):
    missing = topology_sh("status", "--dir", str(tmp_path / "none"))

    assert missing.returncode == 1
    assert "nothing recorded" in missing.stderr


def test_up_refuses_busy_ports_and_starts_nothing():
    directory = scratch_dir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = topology_sh("up", "--base-port", str(port), "--dir", str(directory))

    assert done.returncode == 1
    assert f"ports in use on 127.0.0.1: {port}" in done.stderr
    assert not directory.exists()


def test_status_exits_non_zero_when_a_part_is_down(topology: topo.Topology):
    instance = topology.part("instance2")
    pid = topo.running_pid(instance)
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while topo.running_pid(instance) is not None:
        assert time.monotonic() < deadline, "instance2 ignored SIGTERM"
        time.sleep(0.1)

    code, parts = _status(Path(topology.dir))

    assert code == 1
    assert (parts["instance2"]["up"], parts["instance2"]["detail"]) == (
        False,
        "process not running",
    )
    down = {name: part["detail"] for name, part in parts.items() if not part["up"]}
    assert list(down) == ["instance2"], down


def test_up_that_fails_stops_what_it_started(tmp_path: Path):
    require_binaries()
    failing = tmp_path / "conduit"
    failing.write_text('#!/bin/sh\necho "cannot migrate" >&2\nexit 3\n')
    failing.chmod(0o755)
    directory, base = scratch_dir(), free_base_port(PORTS)
    env = {**os.environ, "CONDUIT_BIN": str(failing), "PYTHON": sys.executable}

    done = subprocess.run(
        [str(SCRIPT), "up", "--replicas", "0", "--base-port", str(base), "--dir", str(directory)],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    # The instances migrate at start: the end of the failing one's log is in the message.
    assert "exited" in done.stderr
    assert "cannot migrate" in done.stderr
    assert not directory.exists()  # the primary and PgBouncer were started, then stopped
    assert all(topo.port_free(port) for port in range(base, base + 3))


def test_down_stops_every_process_and_removes_the_data(topology: topo.Topology):
    processes = _processes(topology)
    ports = [part.port for part in topology.parts]

    done = topology_sh("down", "--dir", topology.dir)

    assert done.returncode == 0, done.stdout + done.stderr
    assert len(processes) >= 5  # all but instance2 when the test above ran
    assert [pid for pid, started in processes if topo.start_time(pid) == started] == []
    assert not Path(topology.dir).exists()
    assert all(topo.port_free(port) for port in ports)
