"""conduit.db.pagination: signed cursors, the keyset predicate and the page helpers."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest
from sqlalchemy import Column, DateTime, MetaData, Table, Uuid, select
from sqlalchemy.dialects import postgresql, sqlite

from conduit.db.pagination import (
    MAX_CURSOR_LENGTH,
    CursorCodec,
    InvalidCursor,
    after,
    fits,
    more_after_offset,
    position,
    split_lookahead,
)

SECRET = "a-secret-of-the-service-long-enough"
KIND = "articles"
SCOPE = {"tag": "dragons", "author": None}
MOMENT = dt.datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=dt.UTC)
KEY = uuid.UUID("0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b")


@pytest.fixture
def codec() -> CursorCodec:
    return CursorCodec(SECRET, purpose="tests.cursor")


def test_a_position_round_trips_with_its_types(codec: CursorCodec) -> None:
    position = (0.0607927106320858, MOMENT, KEY, 42, "2026-11-22 10:00:00.123")
    cursor = codec.encode(position, kind=KIND, scope=SCOPE)
    decoded = codec.decode(cursor, kind=KIND, scope=SCOPE)
    assert decoded == position
    assert [type(value) for value in decoded] == [float, dt.datetime, uuid.UUID, int, str]
    assert decoded[1].tzinfo is not None


def test_a_cursor_is_opaque_url_safe_text(codec: CursorCodec) -> None:
    cursor = codec.encode((MOMENT, KEY), kind=KIND, scope=SCOPE)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(cursor) < MAX_CURSOR_LENGTH


def test_scope_key_order_does_not_matter(codec: CursorCodec) -> None:
    cursor = codec.encode((MOMENT, KEY), kind=KIND, scope=SCOPE)
    assert codec.decode(cursor, kind=KIND, scope=dict(reversed(list(SCOPE.items())))) == (
        MOMENT,
        KEY,
    )


@pytest.mark.parametrize(
    "other_scope",
    [
        {**SCOPE, "tag": "cats"},
        {**SCOPE, "author": "jake"},
        {**SCOPE, "q": None},  # an extra key, even an empty one, is another scope
        {"tag": "dragons"},
    ],
)
def test_a_cursor_issued_for_other_filters_is_invalid(
    codec: CursorCodec, other_scope: dict[str, str | None]
) -> None:
    cursor = codec.encode((MOMENT, KEY), kind=KIND, scope=SCOPE)
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, kind=KIND, scope=other_scope)


def test_another_secret_or_purpose_does_not_verify(codec: CursorCodec) -> None:
    cursor = codec.encode((MOMENT, KEY), kind=KIND, scope=SCOPE)
    for other in (
        CursorCodec(SECRET + "x", purpose="tests.cursor"),
        CursorCodec(SECRET, purpose="tests.other"),
    ):
        with pytest.raises(InvalidCursor):
            other.decode(cursor, kind=KIND, scope=SCOPE)


def test_a_cursor_of_another_kind_of_list_is_invalid(codec: CursorCodec) -> None:
    # The same position and filters, issued for the feed: not a cursor of the article list.
    cursor = codec.encode((MOMENT, KEY), kind="feed", scope=SCOPE)
    assert codec.decode(cursor, kind="feed", scope=SCOPE) == (MOMENT, KEY)
    for other in ("articles", "ledger", ""):
        with pytest.raises(InvalidCursor):
            codec.decode(cursor, kind=other, scope=SCOPE)


def test_a_rotated_secret_still_verifies_the_cursors_of_the_old_one(codec: CursorCodec) -> None:
    old = codec.encode((MOMENT, KEY), kind=KIND, scope=SCOPE)
    rotated = CursorCodec([SECRET, SECRET + "-new"], purpose="tests.cursor")
    assert rotated.decode(old, kind=KIND, scope=SCOPE) == (MOMENT, KEY)
    new = rotated.encode((MOMENT, KEY), kind=KIND, scope=SCOPE)
    assert new != old
    with pytest.raises(InvalidCursor):
        codec.decode(new, kind=KIND, scope=SCOPE)


def _flip(text: str, at: int) -> str:
    replacement = "A" if text[at] != "A" else "B"
    return text[:at] + replacement + text[at + 1 :]


def test_every_single_character_edit_is_refused(codec: CursorCodec) -> None:
    cursor = codec.encode((MOMENT, KEY), kind=KIND, scope=SCOPE)
    for at in range(len(cursor)):
        if cursor[at] == ".":
            continue
        with pytest.raises(InvalidCursor):
            codec.decode(_flip(cursor, at), kind=KIND, scope=SCOPE)


def test_a_re_signed_position_needs_the_key(codec: CursorCodec) -> None:
    # Editing the readable payload (an earlier time) without the key fails the MAC.
    cursor = codec.encode((MOMENT, KEY), kind=KIND, scope=SCOPE)
    body, _, mac = cursor.partition(".")
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    edited = payload.replace(b"2026-11-22", b"2025-01-01")
    forged = base64.urlsafe_b64encode(edited).rstrip(b"=").decode() + "." + mac
    with pytest.raises(InvalidCursor):
        codec.decode(forged, kind=KIND, scope=SCOPE)


@pytest.mark.parametrize(
    "cursor",
    ["", ".", "abc", "abc.", ".abc", "a.b.c", "not base64!.xyz", "é.é", "x" * 10_000],
)
def test_malformed_cursors_are_invalid(codec: CursorCodec, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, kind=KIND, scope=SCOPE)


def test_truncated_or_extended_cursors_are_invalid(codec: CursorCodec) -> None:
    cursor = codec.encode((MOMENT, KEY), kind=KIND, scope=SCOPE)
    for broken in (cursor[:-1], cursor[:-4], cursor[1:], cursor + "A", cursor + "=", cursor + "!"):
        with pytest.raises(InvalidCursor):
            codec.decode(broken, kind=KIND, scope=SCOPE)


def test_only_sort_key_values_can_be_encoded(codec: CursorCodec) -> None:
    with pytest.raises(TypeError):
        codec.encode((MOMENT.replace(tzinfo=None),), kind=KIND, scope=SCOPE)
    with pytest.raises(TypeError):
        codec.encode((True,), kind=KIND, scope=SCOPE)


def test_fits_checks_count_and_exact_types() -> None:
    assert fits((MOMENT, KEY), (dt.datetime, uuid.UUID))
    assert not fits((MOMENT,), (dt.datetime, uuid.UUID))
    assert not fits((MOMENT, KEY, 1.0), (dt.datetime, uuid.UUID))
    assert not fits(("2026-11-22", KEY), (dt.datetime, uuid.UUID))
    assert not fits((1, KEY), (float, uuid.UUID))


def test_offset_and_lookahead_helpers() -> None:
    assert more_after_offset(offset=0, shown=20, total=21)
    assert not more_after_offset(offset=0, shown=20, total=20)
    assert not more_after_offset(offset=40, shown=0, total=3)
    assert split_lookahead([1, 2, 3], limit=2) == ([1, 2], True)
    assert split_lookahead([1, 2], limit=2) == ([1, 2], False)
    assert split_lookahead([], limit=2) == ([], False)


ITEMS = Table(
    "items",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("created_at", DateTime(timezone=True)),
)


def test_after_is_a_row_value_comparison_on_both_dialects() -> None:
    columns = (ITEMS.c.created_at, ITEMS.c.id)
    newer_first = select(ITEMS.c.id).where(after(columns, ("created", "id")))
    older_first = select(ITEMS.c.id).where(after(columns, ("created", "id"), descending=False))
    pg = str(newer_first.compile(dialect=postgresql.dialect()))
    assert "(items.created_at, items.id) < (%(after_created)s::TIMESTAMP WITH TIME ZONE" in pg
    assert "(items.created_at, items.id) > (?, ?)" in str(
        older_first.compile(dialect=sqlite.dialect())
    )
    assert position(("created", "id"), (MOMENT, KEY)) == {
        "after_created": MOMENT,
        "after_id": KEY,
    }
    with pytest.raises(ValueError, match="shorter"):
        after(columns, ("created",))
