"""Migration safety lint: every revision's upgrade rendered to PostgreSQL SQL, checked by squawk.

Each revision is rendered offline on its own (``down:rev``, the first from ``base``) and handed
to squawk as a file of its own. That is how the revision meets a live database: a table created
by an earlier revision already exists and may be large and busy, so locking or rewriting it is
flagged, while a table the same revision creates is empty and safe to index. Rendered as one
``base:head`` piece, revisions that share a transaction would hide exactly those hazards, and
no finding could name its file.

Alembic's bookkeeping (the version table) is left out, as it is not the revision's doing. A
violation points back to the revision file and to the statement squawk flagged, with the safe
alternative. No database is needed: the URL only picks the dialect to render for.

Tooling, not service: ``conduit migrate lint`` and CI run it; applying migrations stays in
:mod:`conduit.db.migrations`, whose facade this renders through.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import Script
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL

from conduit.db.config import DatabaseConfig
from conduit.db.errors import DatabaseError
from conduit.db.migrations import MigrationError, Migrations

# A placeholder: rendering offline needs a PostgreSQL dialect, never a server.
OFFLINE_POSTGRES_URL = URL.create("postgresql+asyncpg", host="offline", database="conduit")
VERSION_TABLE = "alembic_version"

_MARKER = re.compile(r"^-- Running upgrade .* -> (?P<revision>\S+)$")
_BOOKKEEPING = re.compile(
    rf"^(CREATE TABLE|INSERT INTO|UPDATE|DELETE FROM)\s+{VERSION_TABLE}\b", re.IGNORECASE
)
_LOCK_TIMEOUT = "op.execute(\"SET LOCAL lock_timeout = '5s'\")"
_STATEMENT_TIMEOUT = "op.execute(\"SET LOCAL statement_timeout = '60s'\")"
_FIRST = " first in upgrade() (plain SET inside an autocommit_block)"
# The safe way to make each change in an Alembic revision; squawk's own help text otherwise.
ADVICE = {
    "adding-required-field": "add it nullable or with a constant server_default; backfill and "
    "set NOT NULL in a later revision",
    "adding-not-nullable-field": "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later "
    "revision, then SET NOT NULL (PostgreSQL 12+ uses the check and skips the scan)",
    "require-concurrent-index-creation": "inside `with op.get_context().autocommit_block():` "
    "op.create_index(..., postgresql_concurrently=True, if_not_exists=True), after "
    "op.drop_index(..., postgresql_concurrently=True, if_exists=True) to clear an invalid "
    "index left by a failed run",
    "require-concurrent-index-deletion": "op.drop_index(..., postgresql_concurrently=True, "
    "if_exists=True) inside `with op.get_context().autocommit_block():`",
    "ban-concurrent-index-creation-in-transaction": "move it into "
    "`with op.get_context().autocommit_block():`",
    "adding-foreign-key-constraint": "op.create_foreign_key(..., postgresql_not_valid=True); "
    "VALIDATE CONSTRAINT in a later revision",
    "constraint-missing-not-valid": "create it with postgresql_not_valid=True; "
    "ALTER TABLE ... VALIDATE CONSTRAINT in a later revision",
    "disallowed-unique-constraint": "CREATE UNIQUE INDEX CONCURRENTLY first, then "
    "ADD CONSTRAINT ... UNIQUE USING INDEX",
    "changing-column-type": "add a new column, backfill it, move readers over, drop the old one",
    "renaming-column": "add the new column and write both; drop the old one once no release "
    "reads it",
    "renaming-table": "create the new table (or a view) and move readers before dropping the old",
    "ban-drop-column": "stop reading the column in a release first; drop it in a later one",
    "ban-drop-table": "stop using the table in a release first; drop it in a later one",
    "require-lock-timeout": _LOCK_TIMEOUT + _FIRST,
    "require-statement-timeout": _STATEMENT_TIMEOUT + _FIRST,
    "require-timeout-settings": f"{_LOCK_TIMEOUT} and {_STATEMENT_TIMEOUT}{_FIRST}",
    "prefer-robust-stmts": "outside a transaction, make each statement rerunnable "
    "(if_not_exists=True / if_exists=True), or keep it in Alembic's transaction",
}


class LintError(DatabaseError):
    """squawk could not lint: it failed, or its output was not what this module reads."""


class SquawkMissing(LintError):
    """No squawk executable was found."""


@dataclass(frozen=True, slots=True)
class RenderedRevision:
    """One revision's upgrade as PostgreSQL statements, each ending in ``;``.

    ``allowed``: the rules the revision itself waives, each with the reason (its module's
    ``SQUAWK_ALLOW = {"ban-drop-column": "why it is safe here"}``), e.g. the contract step of a
    rename once no release reads the old column.
    """

    revision: str
    path: Path
    statements: tuple[str, ...]
    allowed: tuple[str, ...] = ()

    @property
    def sql(self) -> str:
        return "".join(f"{statement}\n\n" for statement in self.statements)

    def statement_at(self, line: int) -> str:
        """The statement covering ``line`` (0-based) of :attr:`sql`."""
        first = 0
        for statement in self.statements:
            last = first + statement.count("\n")
            if first <= line <= last:
                return statement
            first = last + 2  # the statement's last line, then one blank line
        return ""


@dataclass(frozen=True, slots=True)
class Violation:
    revision: str
    path: Path
    statement: str
    rule: str
    level: str
    message: str
    help: str
    line: int  # 1-based, in the revision's rendered SQL

    @property
    def advice(self) -> str:
        return ADVICE.get(self.rule) or self.help or self.message


@dataclass(frozen=True, slots=True)
class LintReport:
    squawk_version: str
    revisions: tuple[RenderedRevision, ...]
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def lint_migrations(
    script_location: Path,
    *,
    squawk: Path,
    config: Path | None = None,
    url: URL = OFFLINE_POSTGRES_URL,
    ini: Path | None = None,
) -> LintReport:
    """Render every revision under ``script_location`` and lint each with ``squawk``.

    ``ini``: the project's alembic.ini, when the folder has one (its ``prepend_sys_path`` lets
    ``env.py`` import the project's models).
    """
    revisions = render_revisions(script_location, url=url, ini=ini)
    return LintReport(
        squawk_version=squawk_version(squawk),
        revisions=tuple(revisions),
        violations=tuple(lint_revisions(revisions, squawk=squawk, config=config)),
    )


def render_revisions(
    script_location: Path, *, url: URL = OFFLINE_POSTGRES_URL, ini: Path | None = None
) -> list[RenderedRevision]:
    """Every revision's upgrade, oldest first, each rendered on its own."""
    migrations = Migrations(DatabaseConfig(url=url), script_location=script_location, ini=ini)
    try:
        scripts = reversed(list(migrations.script.walk_revisions()))
    except CommandError as exc:
        raise MigrationError(str(exc)) from None
    return [render_revision(migrations, script, url=url) for script in scripts]


def render_revision(
    migrations: Migrations, script: Script, *, url: URL = OFFLINE_POSTGRES_URL
) -> RenderedRevision:
    down = script.down_revision
    # A merge revision renders from its first parent; statements of the other branch's
    # revisions are dropped below by their "Running upgrade" markers.
    start = "base" if not down else down if isinstance(down, str) else down[0]
    buffer = _Chunks()
    cfg = migrations.alembic_config(output_buffer=buffer)
    cfg.attributes["offline_url"] = url
    try:
        command.upgrade(cfg, f"{start}:{script.revision}", sql=True)
    except (CommandError, ImportError) as exc:
        raise MigrationError(f"{Path(script.path).name}: {exc}") from None
    return RenderedRevision(
        revision=script.revision,
        path=Path(script.path),
        statements=tuple(_own_statements(buffer.chunks, script.revision)),
        allowed=_allowed(script),
    )


def _allowed(script: Script) -> tuple[str, ...]:
    allow = getattr(script.module, "SQUAWK_ALLOW", None) or {}
    if not isinstance(allow, dict) or not all(str(why).strip() for why in allow.values()):
        raise MigrationError(
            f"{Path(script.path).name}: SQUAWK_ALLOW must map each rule to why it is safe here"
        )
    return tuple(str(rule) for rule in allow)


def lint_revisions(
    revisions: Iterable[RenderedRevision], *, squawk: Path, config: Path | None = None
) -> list[Violation]:
    violations: list[Violation] = []
    for rendered in revisions:
        for found in _run_squawk(squawk, rendered, config=config):
            if found.get("rule_name") in rendered.allowed:
                continue
            line = int(found.get("line", 0))
            violations.append(
                Violation(
                    revision=rendered.revision,
                    path=rendered.path,
                    statement=rendered.statement_at(line),
                    rule=str(found.get("rule_name", "")),
                    level=str(found.get("level", "")).lower(),
                    message=str(found.get("message", "")),
                    help=str(found.get("help") or ""),
                    line=line + 1,
                )
            )
    return violations


def find_squawk(explicit: Path | None = None) -> Path:
    """``explicit``, else the squawk installed beside this Python (``squawk-cli``), else PATH."""
    if explicit is not None:
        if explicit.is_file():
            return explicit
        raise SquawkMissing(f"squawk not found at {explicit}")
    beside = Path(sys.executable).parent / "squawk"
    if beside.is_file():
        return beside
    found = shutil.which("squawk")
    if found is None:
        raise SquawkMissing("squawk is not installed")
    return Path(found)


def squawk_version(squawk: Path) -> str:
    """The version squawk reports, e.g. ``2.70.0``."""
    output = _exec([str(squawk), "--version"], stdin="").stdout.strip()
    return output.removeprefix("squawk").strip() or output


class _Chunks(io.StringIO):
    """Keeps Alembic's offline output apart: it writes one statement or comment per call."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    def write(self, text: str, /) -> int:
        self.chunks.append(text)
        return len(text)


def _own_statements(chunks: Sequence[str], revision: str) -> list[str]:
    """The statements ``revision`` runs: its own, the environment's, BEGIN/COMMIT around them."""
    statements: list[str] = []
    owner: str | None = None  # None: before any revision, i.e. set up by env.py for all
    pending_begin = False  # a BEGIN belongs to the revision whose marker follows it, if any
    for chunk in chunks:
        text = chunk.strip()
        if not text or _BOOKKEEPING.match(text):
            continue
        marker = _MARKER.match(text)
        if marker:
            owner = marker["revision"]
        if pending_begin and owner in (None, revision):
            statements.append("BEGIN;")
        pending_begin = False
        if marker:
            continue
        if text.upper() == "BEGIN;":
            pending_begin = True
        elif owner in (None, revision):
            statements.append(text)
    if pending_begin and owner in (None, revision):
        statements.append("BEGIN;")
    return statements


def _run_squawk(
    squawk: Path, rendered: RenderedRevision, *, config: Path | None
) -> list[dict[str, Any]]:
    args = [str(squawk), "--reporter", "json", "--stdin-filepath", str(rendered.path)]
    if config is not None:
        args += ["--config", str(config)]
    result = _exec(args, stdin=rendered.sql)
    # Exit 1 with a JSON list means violations; anything else is squawk failing to lint.
    try:
        found = json.loads(result.stdout) if result.stdout.strip() else None
    except json.JSONDecodeError:
        found = None
    if result.returncode not in (0, 1) or not isinstance(found, list):
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[0] if detail else f"exit status {result.returncode}"
        raise LintError(f"squawk failed on {rendered.path.name}: {reason}")
    return [item for item in found if isinstance(item, dict)]


def _exec(args: list[str], *, stdin: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # noqa: S603 - the squawk executable and fixed arguments
            args, input=stdin, capture_output=True, text=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise SquawkMissing(f"squawk not found at {args[0]}") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LintError(f"squawk could not run: {exc}") from None
