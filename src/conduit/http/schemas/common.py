"""Building blocks shared by the response bodies: the timestamp format and the camelCase base.

Response models are validated from the domain's read views by attribute (``from_attributes``)
and written out by pydantic-core, so a route hands over dataclasses and no Python-level
serialisation runs per field, except the timestamp format below.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasGenerator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

BLANK = "can't be blank"


def iso_millis(value: dt.datetime) -> str:
    """``2026-11-21T10:00:00.000Z``: UTC, milliseconds, a ``Z`` - the same on every dialect."""
    value = value.astimezone(dt.UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


Timestamp = Annotated[
    dt.datetime,
    PlainSerializer(iso_millis, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def not_blank(value: str) -> str:
    """Reject text that is empty or only whitespace, without altering what is kept."""
    if not value.strip():
        raise ValueError(BLANK)
    return value


def not_null(value: Any) -> Any:
    """For update fields that may be omitted but not set to null."""
    if value is None:
        raise ValueError(BLANK)
    return value


NotBlank = AfterValidator(not_blank)


class ResponseModel(BaseModel):
    """snake_case fields read from the domain's views, camelCase keys in the JSON."""

    model_config = ConfigDict(
        from_attributes=True, alias_generator=AliasGenerator(serialization_alias=to_camel)
    )
