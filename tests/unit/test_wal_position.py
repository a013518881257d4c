"""WAL positions as PostgreSQL writes them (``16/B374D848``) and as the byte offsets compared."""

from __future__ import annotations

import pytest

from conduit.db.replicas import format_position, parse_position


@pytest.mark.parametrize(
    ("text", "offset"),
    [("0/0", 0), ("0/16B3748", 0x16B3748), ("16/B374D848", (0x16 << 32) | 0xB374D848),
     ("FFFFFFFF/FFFFFFFF", 2**64 - 1)],
)  # fmt: skip
def test_a_position_round_trips_between_text_and_offset(text: str, offset: int) -> None:
    assert parse_position(text) == offset
    assert format_position(offset) == text


def test_positions_compare_by_offset_across_the_high_half() -> None:
    assert parse_position("1/0") > parse_position("0/FFFFFFFF")


def test_lower_case_and_surrounding_spaces_are_accepted() -> None:
    assert parse_position(" 16/b374d848 ") == parse_position("16/B374D848")


@pytest.mark.parametrize(
    "text", ["", "16", "/1", "1/", "1/2/3", "G/0", "0/123456789", "-1/0", "0x1/0", "1 / 2"]
)
def test_anything_else_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="is not a WAL position such as 0/16B3748"):
        parse_position(text)
