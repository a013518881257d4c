"""The migration linter: per-revision PostgreSQL rendering, and squawk's findings mapped back.

No database runs here: revisions are rendered offline and squawk reads SQL text. The fixture
chain in ``tests/fixtures/lint_migrations`` holds one clean revision that creates the tables,
three unsafe revisions (one hazard each) and three that make the same changes safely.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from conduit.db.migrations import MigrationError
from conduit.migrations import squawk_config
from conduit.tooling.migration_lint import (
    LintError,
    RenderedRevision,
    SquawkMissing,
    find_squawk,
    lint_migrations,
    lint_revisions,
    render_revisions,
)
from tests.conftest import MIGRATIONS_DIR, PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "lint_migrations"
CONFIG = squawk_config()
EXPECTED = {
    "0002_add_required_column.py": {"adding-required-field"},
    "0003_index_without_concurrently.py": {"require-concurrent-index-creation"},
    "0004_foreign_key_validated_at_once.py": {
        "adding-foreign-key-constraint",
        "constraint-missing-not-valid",
    },
}


@pytest.fixture(scope="module")
def squawk() -> Path:
    return find_squawk()


@pytest.fixture(scope="module")
def fixture_revisions() -> dict[str, RenderedRevision]:
    return {rendered.path.name: rendered for rendered in render_revisions(FIXTURES)}


def test_each_revision_is_rendered_alone_in_its_own_transaction(
    fixture_revisions: dict[str, RenderedRevision],
) -> None:
    assert list(fixture_revisions) == sorted(fixture_revisions)  # oldest first
    for rendered in fixture_revisions.values():
        assert rendered.statements[0] == "BEGIN;"
        assert rendered.statements[-1] == "COMMIT;"
        # Alembic's bookkeeping is not the revision's doing: it is left out.
        assert "alembic_version" not in rendered.sql
    created = fixture_revisions["0001_create_accounts_and_teams.py"].sql
    added = fixture_revisions["0002_add_required_column.py"].sql
    assert "CREATE TABLE accounts" in created
    assert "CREATE TABLE accounts" not in added
    assert "ALTER TABLE accounts ADD COLUMN plan TEXT NOT NULL;" in added
    assert "plan" not in created


def test_autocommit_blocks_keep_their_commit_and_begin(
    fixture_revisions: dict[str, RenderedRevision],
) -> None:
    statements = fixture_revisions["0007_index_concurrently.py"].statements
    index = next(i for i, s in enumerate(statements) if "CONCURRENTLY" in s)
    assert "COMMIT;" in statements[:index]
    assert "BEGIN;" in statements[index:]


def test_statement_at_maps_every_line_to_its_statement(
    fixture_revisions: dict[str, RenderedRevision],
) -> None:
    rendered = fixture_revisions["0001_create_accounts_and_teams.py"]
    lines = rendered.sql.splitlines()
    for number, line in enumerate(lines):
        if line.strip():
            assert line.strip() in rendered.statement_at(number)
    create = next(n for n, line in enumerate(lines) if line.startswith("CREATE TABLE accounts"))
    assert rendered.statement_at(create + 2).startswith("CREATE TABLE accounts")


def test_merge_revision_renders_only_its_own_statements(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    (tmp_path / "env.py").write_text((FIXTURES / "env.py").read_text())
    chain = {"r0": None, "a1": "r0", "a2": "a1", "b1": "r0", "merge": ("a2", "b1")}
    for revision, down in chain.items():
        (tmp_path / "versions" / f"{revision}.py").write_text(
            "from alembic import op\n"
            f"revision = {revision!r}\ndown_revision = {down!r}\n"
            "branch_labels = None\ndepends_on = None\n"
            f"def upgrade() -> None:\n    op.execute(\"SELECT '{revision}'\")\n"
            "def downgrade() -> None:\n    pass\n"
        )

    rendered = {r.revision: r.statements for r in render_revisions(tmp_path)}

    assert set(rendered) == set(chain)
    for revision, statements in rendered.items():
        assert statements == ("BEGIN;", f"SELECT '{revision}';", "COMMIT;")


def test_each_unsafe_fixture_is_caught_with_its_rule_against_its_file(squawk: Path) -> None:
    report = lint_migrations(FIXTURES, squawk=squawk, config=CONFIG)

    found: dict[str, set[str]] = {}
    for violation in report.violations:
        found.setdefault(violation.path.name, set()).add(violation.rule)
        assert violation.path.parent == FIXTURES / "versions"
        assert violation.advice
    # Exactly these: the clean revisions (the one creating the tables and the three doing the
    # same changes safely) report nothing.
    assert found == EXPECTED
    assert report.squawk_version[0].isdigit()


def test_violation_names_the_statement_that_broke_the_rule(squawk: Path) -> None:
    report = lint_migrations(FIXTURES, squawk=squawk, config=CONFIG)
    by_rule = {violation.rule: violation for violation in report.violations}

    assert by_rule["adding-required-field"].statement == (
        "ALTER TABLE accounts ADD COLUMN plan TEXT NOT NULL;"
    )
    assert by_rule["require-concurrent-index-creation"].statement == (
        "CREATE INDEX ix_accounts_email ON accounts (email);"
    )
    foreign_key = by_rule["adding-foreign-key-constraint"]
    assert foreign_key.statement.startswith(
        "ALTER TABLE accounts ADD CONSTRAINT fk_accounts_team_id_teams FOREIGN KEY"
    )
    assert "NOT VALID" not in foreign_key.statement
    assert "postgresql_not_valid=True" in foreign_key.advice


def test_linting_revisions_in_one_transaction_would_hide_the_hazards(
    squawk: Path, fixture_revisions: dict[str, RenderedRevision]
) -> None:
    # Why each revision is linted alone: rendered base..head under one transaction (an env.py
    # without transaction_per_migration), the table looks new and its index looks harmless.
    first, second, third = list(fixture_revisions.values())[:3]
    body = tuple(
        statement
        for rendered in (first, second, third)
        for statement in rendered.statements
        if statement not in ("BEGIN;", "COMMIT;")
    )
    together = RenderedRevision(
        revision="all", path=first.path, statements=("BEGIN;", *body, "COMMIT;")
    )
    apart = {v.rule for v in lint_revisions([first, second, third], squawk=squawk, config=CONFIG)}
    in_one_piece = {v.rule for v in lint_revisions([together], squawk=squawk, config=CONFIG)}

    assert "require-concurrent-index-creation" in apart
    assert "require-concurrent-index-creation" not in in_one_piece


def test_project_revisions_pass_the_lint(squawk: Path) -> None:
    report = lint_migrations(MIGRATIONS_DIR, squawk=squawk, config=CONFIG)

    assert report.revisions
    assert report.violations == (), [(v.path.name, v.rule) for v in report.violations]


def test_project_config_excludes_only_known_rules_each_with_its_reason() -> None:
    text = CONFIG.read_text()
    excluded = tomllib.loads(text)["excluded_rules"]
    lines = text.splitlines()
    for rule in excluded:
        at = lines.index(f'    "{rule}",')
        assert lines[at - 1].strip().startswith("#"), f"{rule} is excluded without a reason"


def test_an_unknown_rule_in_the_config_is_an_error_not_a_silent_pass(
    squawk: Path, tmp_path: Path
) -> None:
    config = tmp_path / ".squawk.toml"
    config.write_text('excluded_rules = ["no-such-rule"]\n')

    with pytest.raises(LintError, match="no-such-rule"):
        lint_migrations(FIXTURES, squawk=squawk, config=config)


def test_a_missing_squawk_is_named(tmp_path: Path) -> None:
    with pytest.raises(SquawkMissing, match="squawk not found at"):
        find_squawk(tmp_path / "squawk")


DROP_COLUMN = '''\
"""Drop the accounts' email (the contract step of a rename).

Revision ID: {rev}
Revises: lint0001
"""

from alembic import op

revision = "{rev}"
down_revision = "lint0001"
branch_labels = None
depends_on = None
{allow}

def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.drop_column("accounts", "email")


def downgrade() -> None:
    pass
'''


@pytest.mark.parametrize(
    ("allow", "flagged"),
    [
        ("", {"ban-drop-column"}),
        ('SQUAWK_ALLOW = {"ban-drop-column": "no release reads accounts.email"}\n', set()),
    ],
)
def test_a_revision_waives_a_rule_only_by_naming_it_with_a_reason(
    squawk: Path, tmp_path: Path, allow: str, flagged: set[str]
) -> None:
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        (folder / name).write_text((FIXTURES / name).read_text())
    first = FIXTURES / "versions" / "0001_create_accounts_and_teams.py"
    (folder / "versions" / first.name).write_text(first.read_text())
    (folder / "versions" / "0002_drop.py").write_text(
        DROP_COLUMN.format(rev="drop0002", allow=allow)
    )

    report = lint_migrations(folder, squawk=squawk, config=CONFIG)

    assert {v.rule for v in report.violations} == flagged

    (folder / "versions" / "0002_drop.py").write_text(
        DROP_COLUMN.format(rev="drop0002", allow='SQUAWK_ALLOW = {"ban-drop-column": " "}\n')
    )
    with pytest.raises(MigrationError, match="SQUAWK_ALLOW must map each rule to why"):
        lint_migrations(folder, squawk=squawk, config=CONFIG)
