"""`conduit migrate ...` through the real command tree, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db import url as db_url
from tests.conftest import MIGRATIONS_DIR
from tests.integration.cli.support import conduit, one_error_line
from tests.scratch import Scratch

# The project's own revisions, oldest first: the tests follow the folder as it grows.
_SCRIPT = ScriptDirectory(str(MIGRATIONS_DIR))
REVISIONS = [rev.revision for rev in _SCRIPT.walk_revisions()][::-1]
INITIAL, HEAD = REVISIONS[0], REVISIONS[-1]
DATE_FIRST = re.compile(r"^\d{4}_\d{2}_\d{2}_\d{4}-[0-9a-f]{12}_add_widgets\.py$")


def execute(url: str, sql: str) -> None:
    async def go() -> None:
        engine = create_async_engine(db_url.parse(url))
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(go())


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """A throwaway copy of the migrations folder, for verbs that write revision files."""
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_upgrade_current_and_downgrade_walk_the_revisions(empty_url: str) -> None:
    result = conduit(empty_url, "migrate", "current")
    assert result.exit_code == 0, result.output
    assert f"base (empty schema) ({len(REVISIONS)} pending" in result.stdout

    result = conduit(empty_url, "migrate", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"Upgraded base (empty schema) -> {HEAD}." in result.stdout

    result = conduit(empty_url, "migrate", "current", "--json")
    assert json.loads(result.stdout) == {"current": [HEAD], "heads": [HEAD], "pending": []}
    assert conduit(empty_url, "migrate", "current").stdout.strip() == f"{HEAD} (head)"

    result = conduit(empty_url, "migrate", "upgrade")
    assert result.exit_code == 0
    assert "Nothing to apply" in result.stdout

    result = conduit(empty_url, "migrate", "downgrade")
    assert result.exit_code == 0, result.output
    previous = REVISIONS[-2] if len(REVISIONS) > 1 else "base (empty schema)"
    assert f"Downgraded {HEAD} -> {previous}." in result.stdout

    result = conduit(empty_url, "migrate", "downgrade", "base")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("-> base (empty schema).")

    result = conduit(empty_url, "migrate", "downgrade")
    assert result.exit_code == 1
    assert "nothing to downgrade" in one_error_line(result)


def test_upgrade_to_an_unknown_revision_fails_with_one_line(empty_url: str) -> None:
    result = conduit(empty_url, "migrate", "upgrade", "deadbeef0000")
    assert result.exit_code == 1
    assert "deadbeef0000" in one_error_line(result)


def test_history_lists_revisions_as_a_table_and_as_json(empty_url: str) -> None:
    result = conduit(empty_url, "migrate", "history", "--json")
    assert result.exit_code == 0, result.output
    history = json.loads(result.stdout)
    assert [rev["revision"] for rev in history] == REVISIONS[::-1]
    assert [rev["is_head"] for rev in history] == [True] + [False] * (len(REVISIONS) - 1)
    assert history[-1]["down_revision"] is None
    assert history[-1]["file"].endswith(f"-{INITIAL}_initial_schema.py")

    table = conduit(empty_url, "migrate", "history", COLUMNS="200")
    assert table.exit_code == 0
    assert f"{HEAD} (head)" in table.stdout
    assert INITIAL in table.stdout


def test_check_passes_at_head_and_fails_on_drift(empty_url: str) -> None:
    assert conduit(empty_url, "migrate", "upgrade").exit_code == 0
    result = conduit(empty_url, "migrate", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "No drift: the models match the migrated schema."

    execute(empty_url, "CREATE TABLE stray (id INTEGER PRIMARY KEY)")
    result = conduit(empty_url, "migrate", "check")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "the models and the migrations differ" in line
    assert "stray" in line


def test_check_fails_when_the_database_is_behind_head(empty_url: str) -> None:
    result = conduit(empty_url, "migrate", "check")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"behind head by {len(REVISIONS)} revision(s): {INITIAL} (" in line
    assert "conduit migrate upgrade" in line


def test_sql_renders_offline_for_the_configured_or_the_given_dialect(
    empty_url: str, tmp_path: Path
) -> None:
    own = "postgresql" if empty_url.startswith("postgresql") else "sqlite"
    markers = {
        "postgresql": "TIMESTAMP WITH TIME ZONE",
        "sqlite": "DATETIME DEFAULT (strftime",
        "mysql": "DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6))",
    }

    result = conduit(empty_url, "migrate", "sql")
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE users (" in result.stdout
    assert markers[own] in result.stdout
    for dialect, marker in markers.items():
        rendered = conduit(empty_url, "migrate", "sql", "--dialect", dialect)
        assert rendered.exit_code == 0, rendered.output
        assert marker in rendered.stdout

    down = conduit(empty_url, "migrate", "sql", f"{INITIAL}:base")
    assert down.exit_code == 0, down.output
    assert "DROP TABLE users;" in down.stdout
    # Offline means offline: no SQLite file appears, no table is created.
    assert not (tmp_path / "conduit.db").exists()
    assert f"({len(REVISIONS)} pending" in conduit(empty_url, "migrate", "current").stdout


def test_sql_rejects_an_unknown_dialect_as_a_usage_error(empty_url: str) -> None:
    result = conduit(empty_url, "migrate", "sql", "--dialect", "oracle")
    assert result.exit_code == 2
    assert "oracle" in result.stderr


def test_create_empty_writes_a_date_first_revision_into_migrations_dir(
    empty_url: str, migrations_copy: Path
) -> None:
    before = sorted(p.name for p in (MIGRATIONS_DIR / "versions").iterdir())
    env = {"MIGRATIONS_DIR": str(migrations_copy)}

    result = conduit(empty_url, "migrate", "create", "add widgets", "--empty", **env)
    assert result.exit_code == 0, result.output
    [created] = [p for p in (migrations_copy / "versions").glob("*.py") if "widgets" in p.name]
    assert DATE_FIRST.match(created.name), created.name
    assert f"Created {created}" in result.stdout
    assert sorted(p.name for p in (MIGRATIONS_DIR / "versions").iterdir()) == before
    # Ready to be written in: what the body will use is imported, and the file lints clean.
    text = created.read_text()
    assert "import sqlalchemy as sa\nfrom alembic import op\n" in text
    ruff = [sys.executable, "-m", "ruff"]
    for args in (
        ["check", "--select", "F,E,W,I", str(created)],
        ["format", "--check", str(created)],
    ):
        checked = subprocess.run([*ruff, *args], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout

    history = json.loads(conduit(empty_url, "migrate", "history", "--json", **env).stdout)
    assert (history[0]["message"], history[0]["is_head"]) == ("add widgets", True)
    assert [r["revision"] for r in history[1:]] == REVISIONS[::-1]
    assert history[0]["down_revision"] == HEAD

    assert conduit(empty_url, "migrate", "upgrade", **env).exit_code == 0
    state = json.loads(conduit(empty_url, "migrate", "current", "--json", **env).stdout)
    assert state["current"] == [history[0]["revision"]]


def test_create_autogenerates_the_difference_with_the_database(
    empty_url: str, migrations_copy: Path
) -> None:
    env = {"MIGRATIONS_DIR": str(migrations_copy)}
    behind = conduit(empty_url, "migrate", "create", "too early", **env)
    assert behind.exit_code == 1
    assert "not up to date" in one_error_line(behind)

    assert conduit(empty_url, "migrate", "upgrade", **env).exit_code == 0
    execute(empty_url, "CREATE TABLE stray (id INTEGER PRIMARY KEY)")
    result = conduit(empty_url, "migrate", "create", "drop stray", **env)
    assert result.exit_code == 0, result.output
    [created] = (migrations_copy / "versions").glob("*_drop_stray.py")
    assert 'op.drop_table("stray")' in created.read_text()  # formatted by ruff


@pytest.mark.postgres_only
async def test_migrations_go_to_the_direct_url_when_it_is_set(
    scratch_databases: Scratch,
) -> None:
    async with scratch_databases.url("postgresql", prefix="conduit_cli", migrated=False) as url:
        # DATABASE_URL names a server that is not there (as a pooler in front would be, for all
        # the migrations can use it): only DATABASE_DIRECT_URL can serve them.
        unreachable = url.set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
        direct = url.render_as_string(hide_password=False)
        result = await asyncio.to_thread(
            conduit, unreachable, "migrate", "upgrade", DATABASE_DIRECT_URL=direct
        )
        assert result.exit_code == 0, result.output
        assert f"Upgraded base (empty schema) -> {HEAD}." in result.stdout
        current = await asyncio.to_thread(conduit, direct, "migrate", "current")
        assert current.stdout.strip() == f"{HEAD} (head)"
