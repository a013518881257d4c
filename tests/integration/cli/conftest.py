"""Fixtures of the CLI tests: throwaway databases the commands can create, migrate and drop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.test_seed import throwaway_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """An empty database of each dialect, as DATABASE_URL would spell it."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'conduit.db'}"
        return
    scratch = request.getfixturevalue("scratch_postgres")
    url = await scratch.create("conduit_cli")
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        await scratch.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def head_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """A database of each dialect migrated to head, as DATABASE_URL would spell it."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    async with throwaway_database(request, tmp_path) as url:
        yield url
