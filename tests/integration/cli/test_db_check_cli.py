"""`conduit db check` against live, behind, unreachable and unresponsive databases."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from conduit.cli.apps import root
from conduit.db import url as db_url
from conduit.db.migrations import Migrations
from tests.conftest import MIGRATIONS_DIR, make_settings
from tests.integration.cli.support import conduit, one_error_line

# The project's own revisions, oldest first: the tests follow the folder as it grows.
_SCRIPT = ScriptDirectory(str(MIGRATIONS_DIR))
REVISIONS = [rev.revision for rev in _SCRIPT.walk_revisions()][::-1]
INITIAL, HEAD = REVISIONS[0], REVISIONS[-1]


@pytest.fixture
async def head_url(empty_url: str) -> str:
    await Migrations(make_settings(empty_url).database, script_location=MIGRATIONS_DIR).upgrade()
    return empty_url


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word, like a hung server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_check_reports_a_live_database_at_head(head_url: str) -> None:
    result = conduit(head_url, "db", "check")
    assert result.exit_code == 0, result.output
    dialect = db_url.parse(head_url).get_backend_name()
    for expected in (dialect, "server version", "latency", HEAD, "at head"):
        assert expected in result.stdout

    report = json.loads(conduit(head_url, "db", "check", "--json").stdout)
    assert report["status"] == "ok"
    assert report["dialect"] == dialect
    assert report["server_version"]
    assert report["latency_ms"] >= 0
    assert report["current"] == report["heads"] == [HEAD]
    assert report["pending"] == []
    assert report["replicas"] == []
    if dialect == "postgresql":
        assert (report["pool"]["size"], report["pool"]["max_overflow"]) == (20, 0)
        assert report["pool"]["sslmode"] in ("disable", "prefer")  # by the test server's host
        assert set(report["extensions"]) == {"pg_stat_statements", "hypopg"}
        assert report["extensions"]["pg_stat_statements"]["available"] is True


def test_check_fails_on_a_replica_that_is_unreachable_or_not_a_replica(
    head_url: str, closed_port: int
) -> None:
    if not head_url.startswith("postgresql"):
        # Replicas are PostgreSQL's: the settings refuse them next to a SQLite database.
        env = {"DATABASE_URL": head_url, "DATABASE_REPLICA_URLS": "postgresql://r/conduit"}
        refused = CliRunner().invoke(root, ["db", "check"], env=env)
        assert refused.exit_code == 1
        assert "DATABASE_REPLICA_URLS: needs a PostgreSQL DATABASE_URL" in one_error_line(refused)
        return
    # The primary itself answers, but it is not in recovery: no replica to read from.
    env_primary = {"DATABASE_URL": head_url, "DATABASE_REPLICA_URLS": head_url, "COLUMNS": "200"}
    primary = CliRunner().invoke(root, ["db", "check", "--json"], env=env_primary)
    assert primary.exit_code == 1
    [replica] = json.loads(primary.stdout)["replicas"]
    assert (replica["reachable"], replica["lag_s"]) == (True, None)
    assert replica["error"] == "not in recovery: a primary, not a replica"

    dead = f"postgresql://conduit:hunter2@127.0.0.1:{closed_port}/conduit"
    env_dead = {"DATABASE_URL": head_url, "DATABASE_REPLICA_URLS": dead, "COLUMNS": "200"}
    failed = CliRunner().invoke(root, ["db", "check", "--json"], env=env_dead)
    assert failed.exit_code == 1
    report = json.loads(failed.stdout)
    assert report["status"] == "degraded"
    [replica] = report["replicas"]
    assert replica["reachable"] is False
    assert "hunter2" not in failed.output
    assert "replica" in one_error_line(failed)


def test_check_fails_when_the_schema_is_behind_head(empty_url: str) -> None:
    result = conduit(empty_url, "db", "check")
    assert result.exit_code == 1
    assert f"{len(REVISIONS)} revision(s) pending" in result.stdout
    line = one_error_line(result)
    assert f"behind head by {len(REVISIONS)} revision(s): {INITIAL} (" in line
    assert "conduit migrate upgrade" in line

    report = json.loads(conduit(empty_url, "db", "check", "--json").stdout)
    assert report["status"] == "behind"
    assert report["pending"] == REVISIONS


def test_check_names_host_and_port_of_an_unreachable_database(closed_port: int) -> None:
    url = f"postgresql://conduit:s3cret-pw@127.0.0.1:{closed_port}/conduit"
    started = time.monotonic()
    result = conduit(url, "db", "check")
    assert time.monotonic() - started < 10
    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"cannot reach the database at 127.0.0.1:{closed_port}" in line
    assert "s3cret-pw" not in result.output


def test_check_gives_up_on_an_unresponsive_server_within_its_timeout(silent_port: int) -> None:
    url = f"postgresql://conduit@127.0.0.1:{silent_port}/conduit"
    started = time.monotonic()
    result = conduit(url, "db", "check", "--timeout", "1")
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"127.0.0.1:{silent_port}" in line
    assert "no answer within 1 s" in line


def test_check_names_the_file_of_an_unopenable_sqlite_database(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "conduit.db"
    result = conduit(f"sqlite:///{missing}", "db", "check")
    assert result.exit_code == 1
    assert str(missing) in one_error_line(result)
