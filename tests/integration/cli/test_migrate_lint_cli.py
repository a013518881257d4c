"""`conduit migrate lint` through the real command tree: exit codes, table, JSON, errors.

The linter renders revisions offline, so no database is needed; the tests prove it by pointing
DATABASE_URL at a server that does not exist.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import conduit.cli.main  # noqa: F401  - registers every verb on the command tree
from conduit.cli import runner
from conduit.cli.apps import root
from tests.conftest import PROJECT_ROOT
from tests.integration.cli.support import one_error_line

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "lint_migrations"
NO_SERVER = "postgresql://nobody@127.0.0.1:1/nowhere"
UNSAFE = {
    "0002_add_required_column.py": {"adding-required-field"},
    "0003_index_without_concurrently.py": {"require-concurrent-index-creation"},
    "0004_foreign_key_validated_at_once.py": {
        "adding-foreign-key-constraint",
        "constraint-missing-not-valid",
    },
}


def lint(*args: str, **env: str) -> Result:
    return CliRunner().invoke(root, ["migrate", "lint", *args], env=env)


def test_project_migrations_pass_with_no_database_configured() -> None:
    result = lint()

    assert result.exit_code == 0, result.output
    assert "no violations" in result.stdout


def test_lint_never_connects_to_the_configured_database() -> None:
    result = lint("--dir", str(FIXTURES), "--json", DATABASE_URL=NO_SERVER)

    assert result.exit_code == 1  # the fixtures' violations, not a connection error
    assert "violation" in one_error_line(result)
    assert json.loads(result.stdout)["violations"]


def test_json_reports_each_unsafe_revision_with_its_rule() -> None:
    result = lint("--dir", str(FIXTURES), "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    found: dict[str, set[str]] = {}
    for violation in report["violations"]:
        found.setdefault(Path(violation["file"]).name, set()).add(violation["rule"])
        assert violation["statement"].endswith(";")
        assert violation["advice"]
        assert violation["line"] >= 1
    assert found == UNSAFE
    assert len(report["revisions"]) == 7
    assert "4 migration safety violation(s) in 3 revision(s)" in one_error_line(result)


def test_table_shows_file_statement_rule_and_safe_alternative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner.console, "width", 400)  # one row per violation, unwrapped

    result = lint("--dir", str(FIXTURES))

    assert result.exit_code == 1
    rows = {line for line in result.stdout.splitlines() if "0003_index_without" in line}
    assert len(rows) == 1
    row = rows.pop()
    assert "CREATE INDEX ix_accounts_email ON accounts (email);" in row
    assert "require-concurrent-index-creation" in row
    assert "postgresql_concurrently=True" in row
    assert "0001_create_accounts_and_teams.py" not in result.stdout


def test_missing_squawk_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = lint("--squawk", str(tmp_path / "squawk"))

    assert result.exit_code == 1
    line = one_error_line(result)
    assert "squawk not found" in line
    assert "pip install squawk-cli" in line
    assert result.stdout == ""


def test_broken_squawk_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "squawk.toml"
    config.write_text('excluded_rules = ["no-such-rule"]\n')

    result = lint("--config", str(config))

    assert result.exit_code == 1
    assert "no-such-rule" in one_error_line(result)


def test_unknown_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = lint("--dir", str(tmp_path / "missing"))

    assert result.exit_code == 2


def test_a_folder_without_revisions_fails_instead_of_passing(tmp_path: Path) -> None:
    result = lint("--dir", str(tmp_path))

    assert result.exit_code == 1
    assert "no revisions found" in one_error_line(result)


def test_a_missing_configured_migrations_folder_is_one_line(tmp_path: Path) -> None:
    result = lint(MIGRATIONS_DIR=str(tmp_path / "missing"))

    assert result.exit_code == 1
    assert "MIGRATIONS_DIR: " in one_error_line(result)
    assert "is not a migrations folder" in one_error_line(result)


def test_installed_command_exits_1_on_violations_and_0_when_clean() -> None:
    conduit = Path(sys.executable).parent / "conduit"
    unsafe = subprocess.run(
        [conduit, "migrate", "lint", "--dir", str(FIXTURES)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},  # squawk found beside Python, not on PATH
    )
    clean = subprocess.run(
        [conduit, "migrate", "lint"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )

    assert unsafe.returncode == 1, unsafe.stderr
    assert unsafe.stderr.startswith("error: 4 migration safety violation(s)")
    assert clean.returncode == 0, clean.stderr + clean.stdout
