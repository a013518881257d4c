"""Starting scripts/topology.sh from tests: binaries, free ports, a scratch directory, up/down.

Runs wherever the binaries are installed; with ``REQUIRE_POSTGRES=1`` (CI) a missing binary fails
the test instead of skipping it.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from scripts import topology as topo

from tests.conftest import postgres_required

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "topology.sh"
CONDUIT = Path(sys.executable).parent / "conduit"


def _missing_binaries() -> list[str]:
    try:
        bindir = topo.pg_bindir()
    except topo.TopologyError:
        return ["initdb"]
    missing = [
        p for p in ("initdb", "pg_ctl", "pg_basebackup", "psql") if not (bindir / p).exists()
    ]
    missing += [p for p in ("pgbouncer", "haproxy") if shutil.which(p) is None]
    return missing + ([] if CONDUIT.exists() else [str(CONDUIT)])


def require_binaries() -> None:
    missing = _missing_binaries()
    if missing:
        if postgres_required():
            pytest.fail(f"REQUIRE_POSTGRES=1 but not installed: {', '.join(missing)}")
        pytest.skip(f"not installed: {', '.join(missing)}")


def free_base_port(ports: int) -> int:
    """The first of ``ports`` consecutive free loopback ports."""
    for _ in range(50):
        # Below Linux's ephemeral range (32768-60999), where outgoing connections take ports.
        base = random.randrange(20000, 32768 - ports)  # noqa: S311 (a port, not a secret)
        if all(topo.port_free(port) for port in range(base, base + ports)):
            return base
    pytest.fail("no free range of loopback ports for the topology")


def topology_sh(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONDUIT_BIN": str(CONDUIT), "PYTHON": sys.executable}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def scratch_dir() -> Path:
    # Not under pytest's tmp_path (0700): the postgres account runs the servers and must enter it.
    return Path(tempfile.gettempdir()) / f"conduit-topology-{uuid.uuid4().hex[:12]}"


@contextmanager
def running_topology(*up_args: str, ports: int) -> Iterator[topo.Topology]:
    """``topology.sh up`` with ``up_args`` on ``ports`` free ports; ``down`` afterwards."""
    require_binaries()
    directory = scratch_dir()
    done = topology_sh(
        "up", *up_args, "--base-port", str(free_base_port(ports)), "--dir", str(directory)
    )
    try:
        assert done.returncode == 0, done.stderr
        yield topo.load(directory)
    finally:
        topology_sh("down", "--dir", str(directory))
        shutil.rmtree(directory, ignore_errors=True)
