"""conduit.db.rows: rows read by their columns' labels."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, literal, select

from conduit.db import rows


def result_of(*labelled: tuple[str, object]) -> tuple[list[str], list[object]]:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        result = conn.execute(select(*(literal(value).label(name) for name, value in labelled)))
        return list(result.keys()), list(result.all())


def test_columns_are_read_by_label_in_the_order_asked() -> None:
    keys, found = result_of(("slug", "a"), ("total", 7), ("title", "T"))
    assert rows.columns(keys, ("title", "slug"))(found[0]) == ("T", "a")
    assert rows.column(keys, "total")(found[0]) == 7


def test_select_list_labels_each_column_with_its_name() -> None:
    statement = select(*rows.select_list({"one": literal(1), "two": literal(2)}))
    assert [column.name for column in statement.selected_columns] == ["one", "two"]


def test_a_missing_or_ambiguous_label_is_refused() -> None:
    keys, _ = result_of(("id", 1), ("id", 2), ("title", "T"))
    with pytest.raises(ValueError, match="0 columns labelled 'slug'"):
        rows.column(keys, "slug")
    with pytest.raises(ValueError, match="2 columns labelled 'id'"):
        rows.columns(keys, ("title", "id"))
