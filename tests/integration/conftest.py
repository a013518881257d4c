"""Fixtures shared by the integration tests of several folders."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.test_analyze import Shop, shop_database
from tests.scratch import Scratch


@pytest.fixture(scope="module")
async def shop(
    scratch_databases: Scratch, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Shop]:
    """The analyzer's subject on PostgreSQL (``shop_database``), built once per module."""
    async with shop_database(scratch_databases, tmp_path_factory.mktemp("shop")) as shop:
        yield shop
