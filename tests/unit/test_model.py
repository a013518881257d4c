"""The model toolkit without a database: UUID v7 keys, the naming convention, UTCDateTime."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from conduit.db.model import NAMING_CONVENTION, Base, UTCDateTime, utcnow, uuid7


def _millis(value: uuid.UUID) -> int:
    return value.int >> 80


def test_uuid7_has_version_7_and_the_rfc_variant() -> None:
    for _ in range(1000):
        value = uuid7()
        assert value.version == 7
        assert value.variant == uuid.RFC_4122


def test_uuid7_embeds_the_current_unix_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= _millis(value) <= after + 1


def test_uuid7_values_are_strictly_increasing_in_creation_order() -> None:
    # Thousands per millisecond: ordering must hold within one millisecond, not only across.
    values = [uuid7() for _ in range(20_000)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    # Their string and byte forms sort the same way (what PostgreSQL and SQLite compare).
    assert [v.hex for v in values] == sorted(v.hex for v in values)
    assert [v.bytes for v in values] == sorted(v.bytes for v in values)


def test_uuid7_values_made_apart_in_time_order_by_time() -> None:
    first = uuid7()
    time.sleep(0.003)
    second = uuid7()
    assert _millis(second) > _millis(first)
    assert second > first


def test_uuid7_keeps_random_bits() -> None:
    # 62 random bits per value: two in a row never share them.
    mask = (1 << 62) - 1
    assert len({uuid7().int & mask for _ in range(1000)}) == 1000


def test_naming_convention_is_the_metadata_convention() -> None:
    assert Base.metadata.naming_convention == NAMING_CONVENTION


def test_utcnow_renders_a_per_statement_clock_on_each_dialect() -> None:
    assert str(utcnow().compile(dialect=postgresql.dialect())) == "statement_timestamp()"
    assert "strftime('%Y-%m-%d %H:%M:%f', 'now')" in str(utcnow().compile(dialect=sqlite.dialect()))


def test_utc_datetime_refuses_naive_values() -> None:
    column_type = UTCDateTime()
    with pytest.raises(ValueError, match="naive"):
        column_type.process_bind_param(dt.datetime(2024, 1, 1), postgresql.dialect())


def test_utc_datetime_stores_utc_on_sqlite_and_reads_it_back_aware() -> None:
    column_type = UTCDateTime()
    plus_two = dt.timezone(dt.timedelta(hours=2))
    local = dt.datetime(2024, 1, 1, 12, 30, 0, 123000, tzinfo=plus_two)
    stored = column_type.process_bind_param(local, sqlite.dialect())
    assert stored == dt.datetime(2024, 1, 1, 10, 30, 0, 123000)
    loaded = column_type.process_result_value(stored, sqlite.dialect())
    assert loaded == local
    assert loaded is not None
    assert loaded.tzinfo == dt.UTC


def test_utc_datetime_converts_other_zones_to_utc_on_read() -> None:
    column_type = UTCDateTime()
    plus_two = dt.timezone(dt.timedelta(hours=2))
    loaded = column_type.process_result_value(
        dt.datetime(2024, 1, 1, 12, tzinfo=plus_two), postgresql.dialect()
    )
    assert loaded == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert loaded is not None
    assert loaded.tzinfo == dt.UTC
