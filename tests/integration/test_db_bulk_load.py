"""COPY through the database layer: rows land inside the caller's transaction, errors translated."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.db.bulk_load import copier
from conduit.db.errors import Conflict
from conduit.db.session import Database
from conduit.domain.tags.models import Tag

# Far above any id the suite's other tests give a tag.
FIRST_ID = 9_000_000


def rows(*names: str) -> list[tuple[int, str]]:
    return [(FIRST_ID + number, name) for number, name in enumerate(names)]


async def test_copy_writes_the_rows_inside_the_open_transaction(
    connection: AsyncConnection, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    copy = await copier(connection)
    assert copy is not None

    await copy.copy_rows(table="tags", columns=("id", "name"), rows=rows("bulk-a", "bulk-b"))

    # The same transaction sees them (the test's outer transaction then rolls them back).
    names = select(Tag.name).where(Tag.id >= FIRST_ID).order_by(Tag.id)
    assert list((await connection.execute(names)).scalars()) == ["bulk-a", "bulk-b"]


async def test_a_failed_copy_is_translated_like_any_database_error(
    database: Database, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("COPY is PostgreSQL's")

    async def copy_one_name_twice() -> None:
        async with database.unit_of_work() as session:
            copy = await copier(await session.connection())
            assert copy is not None
            await copy.copy_rows(
                table="tags", columns=("id", "name"), rows=rows("bulk-twice", "bulk-twice")
            )

    with pytest.raises(Conflict):
        await copy_one_name_twice()


async def test_other_dialects_have_no_copy(connection: AsyncConnection, dialect: str) -> None:
    # The seed loader then inserts in batches instead.
    if dialect == "postgresql":
        pytest.skip("PostgreSQL has COPY")
    assert await copier(connection) is None
