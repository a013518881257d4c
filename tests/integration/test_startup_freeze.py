"""A served process keeps what start-up built out of the garbage collector's sight; an app
given its database (a test's) leaves the collector alone."""

from __future__ import annotations

import gc
from pathlib import Path

from conduit.db.session import Database
from conduit.http.app import create_app
from tests.conftest import make_settings


async def test_an_app_that_owns_its_database_freezes_what_start_up_built(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'conduit.db'}"))
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_an_app_given_its_database_freezes_nothing(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'conduit.db'}")
    database = Database.from_config(settings.database)
    app = create_app(settings, database=database)
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() == 0
    finally:
        await database.dispose()
