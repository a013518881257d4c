"""Fixtures of the CLI tests: throwaway databases the commands can create, migrate and drop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.scratch import Scratch


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(
    request: pytest.FixtureRequest,
    scratch_databases: Scratch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[str]:
    """An empty database of each dialect, as DATABASE_URL would spell it."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    async with scratch_databases.url(request.param, prefix="conduit_cli", migrated=False) as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
async def head_url(
    request: pytest.FixtureRequest,
    scratch_databases: Scratch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[str]:
    """A database of each dialect migrated to head, as DATABASE_URL would spell it."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    async with scratch_databases.url(request.param, prefix="conduit_cli") as url:
        yield url.render_as_string(hide_password=False)
