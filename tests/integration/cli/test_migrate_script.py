"""`./migrate.sh`: the thin shell wrapper over `conduit migrate`."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_the_bare_alembic_command_works_from_the_checkout(tmp_path: Path) -> None:
    """alembic.ini points the plain ``alembic`` at the migrations inside the package."""
    alembic = Path(sys.executable).parent / "alembic"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bare.db'}"}
    env.pop("MIGRATIONS_DIR", None)

    def bare(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(alembic), *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    assert bare("upgrade", "head").returncode == 0
    current = bare("current")
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip().endswith("(head)")
    checked = bare("check")
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout
