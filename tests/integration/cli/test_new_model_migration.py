"""Adding a model, as docs/how-to/add-a-model.md does it, in a copy of the source tree.

The copy (``src/`` and ``pyproject.toml``) comes first on ``PYTHONPATH``, so the real ``conduit``
command runs the copy's models and writes into the copy's migrations folder: the checkout is
never touched. Two tables use every mixin (UUID v7 and identity keys, timestamps, soft delete),
a foreign key to an existing table and one between them, a unique constraint and indexes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db import url as db_url
from tests.conftest import PROJECT_ROOT

MODELS = '''\
"""Bookmarks: a user's saved links, in folders."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from conduit.db.model import Base, BigIntIdentityKey, SoftDelete, Timestamps, UUIDv7PrimaryKey


class Folder(BigIntIdentityKey, Timestamps, Base):
    __tablename__ = "bookmark_folders"

    name: Mapped[str] = mapped_column(String(64), unique=True)


class Bookmark(UUIDv7PrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "bookmarks"
    __table_args__ = (
        UniqueConstraint("user_id", "url"),
        Index("ix_bookmarks_folder_created_at", "folder_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("bookmark_folders.id"))
    url: Mapped[str] = mapped_column(String(2048))
    note: Mapped[str | None] = mapped_column(Text, index=True)
    stars: Mapped[int] = mapped_column(server_default="0")
    pinned: Mapped[bool] = mapped_column(server_default=false())
'''
SCHEMA_IMPORT = "from conduit.domain.bookmarks.models import Bookmark, Folder\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the checkout's source and lint configuration, with a bookmarks model added."""
    root = tmp_path / "checkout"
    shutil.copytree(
        PROJECT_ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root)
    package = root / "src" / "conduit" / "domain" / "bookmarks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    return root


def conduit(project: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "DATABASE_URL": url,
        "COLUMNS": "200",
    }
    env.pop("MIGRATIONS_DIR", None)
    return subprocess.run(
        [sys.executable, "-c", "from conduit.cli.main import main; main()", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_new_model_migrates_the_first_time(project: Path, empty_url: str) -> None:
    versions = project / "src" / "conduit" / "migrations" / "versions"
    assert (versions.parent / "env.py").is_file()
    assert conduit(project, empty_url, "migrate", "upgrade").returncode == 0

    # Defined but not imported by conduit.domain.schema: an error, not "No drift".
    for verb in (("check",), ("create", "add bookmarks")):
        result = conduit(project, empty_url, "migrate", *verb)
        assert result.returncode == 1, result.stdout
        assert "Bookmark (table bookmarks, conduit.domain.bookmarks.models)" in result.stderr
        assert "Folder (table bookmark_folders" in result.stderr
        assert "import each in conduit.domain.schema" in result.stderr
    assert not list(versions.glob("*bookmarks*"))

    schema = project / "src" / "conduit" / "domain" / "schema.py"
    schema.write_text(schema.read_text().replace("\nmetadata =", f"{SCHEMA_IMPORT}\nmetadata =", 1))
    drift = conduit(project, empty_url, "migrate", "check")
    assert drift.returncode == 1
    assert "add_table" in drift.stderr

    created = conduit(project, empty_url, "migrate", "create", "add bookmarks")
    assert created.returncode == 0, created.stderr
    assert "warning" not in created.stderr
    [revision] = versions.glob("*_add_bookmarks.py")
    text = revision.read_text()
    assert "from conduit.db.model import CompactUuid, UTCDateTime, utcnow" in text
    assert "SET LOCAL lock_timeout" in text
    assert "server_default=sa.false()" in text  # not SQLite's 0, which PostgreSQL refuses

    # Untouched, it passes the formatter, the linter, and the migration safety lint.
    assert ruff("format", "--check", str(revision), cwd=project).returncode == 0
    checked = ruff("check", str(revision), cwd=project)
    assert checked.returncode == 0, checked.stdout
    lint = conduit(project, empty_url, "migrate", "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "no violations" in lint.stdout

    upgraded = conduit(project, empty_url, "migrate", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    check = conduit(project, empty_url, "migrate", "check")
    assert check.returncode == 0, check.stderr
    assert "No drift" in check.stdout
    tables = schema_of(empty_url)
    assert {"uq_bookmarks_user_id_url"} <= tables["bookmarks"]["unique"]
    assert {"ix_bookmarks_folder_created_at", "ix_bookmarks_note"} <= tables["bookmarks"]["index"]
    assert tables["bookmarks"]["fk"] == {"users", "bookmark_folders"}

    downgraded = conduit(project, empty_url, "migrate", "downgrade")
    assert downgraded.returncode == 0, downgraded.stderr
    assert "bookmarks" not in schema_of(empty_url)
    behind = conduit(project, empty_url, "migrate", "check")
    assert behind.returncode == 1
    assert "behind head by 1 revision(s)" in behind.stderr


def schema_of(url: str) -> dict[str, dict[str, set[str]]]:
    """Per table: its unique constraints, indexes and the tables its foreign keys refer to."""

    def read(connection: Connection) -> dict[str, dict[str, set[str]]]:
        inspector = inspect(connection)
        return {
            table: {
                "unique": {c["name"] or "" for c in inspector.get_unique_constraints(table)},
                "index": {i["name"] or "" for i in inspector.get_indexes(table)},
                "fk": {f["referred_table"] for f in inspector.get_foreign_keys(table)},
            }
            for table in inspector.get_table_names()
        }

    async def go() -> dict[str, dict[str, set[str]]]:
        engine = create_async_engine(db_url.parse(url))
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(go())
