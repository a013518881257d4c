"""Fixtures of the CLI tests: throwaway databases the commands can create, migrate and drop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.scratch import Scratch


@pytest.fixture(params=["sqlite", "postgresql"])
def cli_dialect(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Each dialect in turn, run from an empty folder (no developer's .env)."""
    monkeypatch.chdir(tmp_path)
    dialect: str = request.param
    return dialect


@pytest.fixture
async def empty_url(cli_dialect: str, scratch_databases: Scratch) -> AsyncIterator[str]:
    """An empty database of each dialect, as DATABASE_URL would spell it."""
    async with scratch_databases.url(cli_dialect, prefix="conduit_cli", migrated=False) as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture
async def head_url(cli_dialect: str, scratch_databases: Scratch) -> AsyncIterator[str]:
    """A database of each dialect migrated to head, as DATABASE_URL would spell it."""
    async with scratch_databases.url(cli_dialect, prefix="conduit_cli") as url:
        yield url.render_as_string(hide_password=False)
