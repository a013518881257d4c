"""`./migrate.sh`: the thin shell wrapper over `conduit migrate`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "migrate.sh"


def migrate_sh(*args: str, cwd: Path, database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [str(SCRIPT), *args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_migrate_sh_runs_conduit_migrate_from_any_directory(tmp_path: Path) -> None:
    database = tmp_path / "conduit.db"
    assert os.access(SCRIPT, os.X_OK)

    upgraded = migrate_sh("upgrade", cwd=tmp_path, database=database)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Upgraded base (empty schema) ->" in upgraded.stdout

    current = migrate_sh("current", cwd=tmp_path, database=database)
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip().endswith("(head)")

    history = migrate_sh("history", "--json", cwd=tmp_path, database=database)
    assert history.returncode == 0
    assert '"is_head": true' in history.stdout


def test_migrate_sh_passes_failures_through(tmp_path: Path) -> None:
    result = migrate_sh("downgrade", cwd=tmp_path, database=tmp_path / "empty.db")
    assert result.returncode == 1
    assert result.stderr.startswith("error: the database has no migration applied")


def test_migrate_sh_rejects_an_unknown_verb_with_usage(tmp_path: Path) -> None:
    for args in (("bogus",), ()):
        result = migrate_sh(*args, cwd=tmp_path, database=tmp_path / "x.db")
        assert result.returncode == 2
        assert result.stderr.startswith("usage: ./migrate.sh create|upgrade|downgrade|current")
        assert result.stdout == ""
    assert not (tmp_path / "x.db").exists()
