"""Every command fails the same way: one line on stderr, exit 1; usage errors exit 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import conduit.cli.main  # noqa: F401  - registers every verb on the command tree
from conduit.cli.apps import root
from conduit.db.errors import Unavailable

CONDUIT = Path(sys.executable).parent / "conduit"
COMMANDS = [
    ["migrate", "current"],
    ["migrate", "upgrade"],
    ["migrate", "downgrade"],
    ["migrate", "history"],
    ["migrate", "check"],
    ["migrate", "sql"],
    ["migrate", "create", "x", "--empty"],
    ["db", "check"],
    ["serve", "--port", "1"],
]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_malformed_database_url_fails_every_command_with_one_line(args: list[str]) -> None:
    result = CliRunner().invoke(root, args, env={"DATABASE_URL": "oracle://u:pw@db/app"})
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: DATABASE_URL: has unsupported scheme 'oracle'")


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_folder_without_migrations_fails_every_command_with_one_line(
    args: list[str], tmp_path: Path
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "MIGRATIONS_DIR": str(tmp_path)}
    result = CliRunner().invoke(root, args, env=env)
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: MIGRATIONS_DIR: {tmp_path} is not a migrations folder")


def test_a_malformed_database_url_prints_no_traceback_from_the_real_command() -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://u:hunter2@db:99999/app"}
    done = subprocess.run(
        [str(CONDUIT), "migrate", "current"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: DATABASE_URL: has port 99999, outside 1-65535 "
        "(hint: fix the variable in the environment or in .env)"
    ]
    assert "hunter2" not in done.stderr


def test_debug_shows_the_underlying_error_instead_of_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://conduit@127.0.0.1:{port}/conduit"
    quiet = CliRunner().invoke(root, ["migrate", "current"], env={"DATABASE_URL": url})
    assert quiet.exit_code == 1
    assert quiet.stderr.startswith("error: cannot reach the database")

    loud = CliRunner().invoke(root, ["--debug", "migrate", "current"], env={"DATABASE_URL": url})
    assert loud.exit_code == 1
    assert isinstance(loud.exception, Unavailable)


@pytest.mark.parametrize(
    "args",
    [["migrate", "bogus"], ["migrate", "upgrade", "a", "b"], ["serve", "--port", "x"]],
    ids=" ".join,
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(root, args, env={"DATABASE_URL": "sqlite:///x.db"})
    assert result.exit_code == 2
