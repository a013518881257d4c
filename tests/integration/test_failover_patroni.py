"""Automatic failover under Patroni, without lost writes, on real processes.

One etcd and two Patroni members (Debian's ``etcd-server`` and ``patroni``) on loopback, in
``synchronous_mode``; one ``conduit serve`` with both members in a multi-host ``DATABASE_URL``
(``target_session_attrs=read-write``). Under a steady write load the leader's Patroni and
PostgreSQL get SIGKILL; nobody runs ``pg_ctl promote``: the synchronous standby takes the leader
key once it expires (``ttl``) and promotes itself. Every write answered 201 is on the new
leader, every failed write is a 503 with ``Retry-After`` within the request deadline, and writes
succeed again without restarting Conduit.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from scripts import topology as topo

from conduit.db.migrations import Migrations
from tests.conftest import MIGRATIONS_DIR, make_settings, postgres_required
from tests.integration.failover_support import crash, write_through_failover
from tests.integration.topology_support import free_base_port
from tests.live_server import serving

pytestmark = pytest.mark.postgres_only

TTL_S = 10  # the leader key's lifetime: how long a dead leader goes unnoticed at most
REQUEST_TIMEOUT_S = 5.0
START_TIMEOUT_S = 60.0


@dataclass
class Member:
    name: str
    rest_port: int
    pg_port: int
    data_dir: Path
    agent_pid: int = 0  # the process started for its Patroni (runuser's, when root)

    @property
    def api(self) -> str:
        return f"http://{topo.HOST}:{self.rest_port}"


def _require() -> None:
    missing = [p for p in ("patroni", "etcd") if shutil.which(p) is None]
    if missing:
        if postgres_required():
            pytest.fail(f"REQUIRE_POSTGRES=1 but not installed: {', '.join(missing)}")
        pytest.skip(f"not installed: {', '.join(missing)} (apt-get install patroni etcd-server)")


def _config(member: Member, *, etcd_port: int, home: Path) -> str:
    return f"""
scope: conduit-test
name: {member.name}
restapi:
  listen: {topo.HOST}:{member.rest_port}
  connect_address: {topo.HOST}:{member.rest_port}
etcd:
  host: {topo.HOST}:{etcd_port}
bootstrap:
  dcs:
    ttl: {TTL_S}
    loop_wait: 2
    retry_timeout: 4
    synchronous_mode: true
    postgresql:
      parameters:
        max_wal_senders: 10
        max_replication_slots: 10
        fsync: 'off'
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - host replication postgres 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: {topo.HOST}:{member.pg_port}
  connect_address: {topo.HOST}:{member.pg_port}
  data_dir: {member.data_dir}
  bin_dir: {topo.pg_bindir()}
  pgpass: {home / f"pgpass-{member.name}"}
  authentication:
    superuser: {{username: postgres, password: unused}}
    replication: {{username: postgres, password: unused}}
  parameters:
    unix_socket_directories: '{home}'
"""


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@contextmanager
def _process(cmd: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``cmd`` as the postgres account (when root), in a session of its own; killed after."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*prefix, *cmd],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        # SIGTERM: Patroni stops its PostgreSQL first (a killed member's is already gone).
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                continue


def _wait_for(url: str, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what} not ready within {START_TIMEOUT_S:g} s:\n{log.read_text()[-3000:]}")


def _postmaster(member: Member) -> int:
    return int((member.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])


@pytest.fixture
def cluster() -> Iterator[tuple[Member, Member]]:
    _require()
    base = free_base_port(6)
    home = Path(tempfile.mkdtemp(prefix="conduit-patroni-"))
    home.chmod(0o755)
    _own(home)
    etcd_port = base
    members = tuple(
        Member(f"node{i}", base + 1 + i, base + 3 + i, home / f"node{i}") for i in (1, 2)
    )
    try:
        with ExitStack() as stack:
            etcd = [
                "etcd", "--name", "etcd1", "--data-dir", str(home / "etcd"),
                "--listen-client-urls", f"http://{topo.HOST}:{etcd_port}",
                "--advertise-client-urls", f"http://{topo.HOST}:{etcd_port}",
                "--listen-peer-urls", f"http://{topo.HOST}:{base + 1}",
                "--initial-advertise-peer-urls", f"http://{topo.HOST}:{base + 1}",
                "--initial-cluster", f"etcd1=http://{topo.HOST}:{base + 1}",
                "--enable-v2=true",  # the API Debian's Patroni (python3-etcd) speaks
            ]  # fmt: skip
            stack.enter_context(_process(etcd, home / "etcd.log"))
            for member in members:
                config = home / f"{member.name}.yml"
                config.write_text(_config(member, etcd_port=etcd_port, home=home))
                _own(config)
                log = home / f"{member.name}.log"
                agent = stack.enter_context(_process(["patroni", str(config)], log))
                member.agent_pid = agent.pid
                # The first bootstraps the cluster; the second clones it and becomes its
                # synchronous standby.
                check = "primary" if member.name == "node1" else "sync"
                _wait_for(f"{member.api}/{check}", f"{member.name} as {check}", log)
            yield members  # type: ignore[misc]  # two members, built just above
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def test_patroni_promotes_the_synchronous_standby_and_no_write_is_lost(
    cluster: tuple[Member, Member], tmp_path: Path
):
    leader, standby = cluster
    topo.psql(leader.pg_port, "CREATE DATABASE conduit")
    hosts = ",".join(f"{topo.HOST}:{member.pg_port}" for member in cluster)
    url = f"postgresql://postgres@{hosts}/conduit?target_session_attrs=read-write"
    settings = make_settings(url)
    await Migrations(settings.database, script_location=MIGRATIONS_DIR).upgrade()
    env = {
        "DATABASE_URL": url,
        "REQUEST_TIMEOUT_S": str(REQUEST_TIMEOUT_S),
        "DB_CONNECT_TIMEOUT": "2",
    }
    postmaster = _postmaster(leader)

    async def promoted_by_patroni() -> float:
        return time.monotonic()  # nobody promotes: the recovery time counts from the kill

    name = f"pat{uuid.uuid4().hex[:10]}"
    with serving(settings.async_database_url, tmp_path, env=env) as server:
        outcome = await write_through_failover(
            server.base_url,
            name,
            load_before_s=2.0,
            fail=lambda: crash(leader.agent_pid, postmaster),
            recover=promoted_by_patroni,
            deadline_s=TTL_S * 3,
        )
    rows = topo.psql(
        standby.pg_port,
        f"SELECT slug FROM articles WHERE title LIKE '{name} w%'",
        database="conduit",
    )
    found = {row[0] for row in rows}
    print(f"failover (Patroni, ttl {TTL_S} s): {outcome.summary(found)}")

    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{standby.api}/primary", timeout=5)).status_code == 200
    assert outcome.acknowledged - found == set()
    assert outcome.gap, "no write fell in the gap"
    assert {w.status for w in outcome.gap} == {503}
    assert all(w.retry_after for w in outcome.gap)
    assert max(w.finished - w.started for w in outcome.writes) < REQUEST_TIMEOUT_S + 1
    first = outcome.first_success_s
    assert first is not None
    # The leader key expires within the TTL; then a loop or two of Patroni's to promote.
    assert first < TTL_S * 2
