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
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel

from conduit.domain.errors import BLANK
from conduit.http.input import UNSTORABLE, storable


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


def trimmed(value: str) -> str:
    """Strip leading and trailing blanks; what is left must not be empty."""
    return not_blank(value).strip()


# What the contract says of these strings, as JSON Schema patterns: no NUL (the input rule of
# conduit.http.input) and, for the non-blank ones, some character that is not a blank.
NON_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
NonBlankSchema = Field(min_length=1, json_schema_extra={"pattern": NON_BLANK_PATTERN})

# Use after ``StringConstraints(max_length=...)`` and NonBlankSchema: the length is checked
# before trimming, so the limit the contract states holds for what a client sends.
NotBlank = AfterValidator(not_blank)
Trimmed = AfterValidator(trimmed)


def omittable(*names: str) -> Any:
    """A model's ``json_schema_extra`` for fields that may be omitted but never null.

    The fields are ``X | None`` in Python (None meaning "not sent"); the contract shows ``X``.
    """

    def drop_null(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema["properties"][name]
            options = [option for option in field.pop("anyOf", ()) if option != {"type": "null"}]
            if len(options) == 1:
                field.update(options[0])
            field.pop("default", None)

    return drop_null


class RequestModel(BaseModel):
    """A request body: every string field, and every string in a list field, obeys the input
    rule (:mod:`conduit.http.input`). Keys a model does not declare are ignored, not checked."""

    # Before the fields' own validation, so that the rule answers alike for every field.
    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else (value,)
        if any(isinstance(text, str) and not storable(text) for text in texts):
            raise ValueError(UNSTORABLE)
        return value


class ErrorBody(BaseModel):
    """The error body of every failure: ``{"errors": {"<subject>": ["message", ...]}}``."""

    errors: dict[str, list[str]] = Field(examples=[{"user": ["forbidden"]}])


class ResponseModel(BaseModel):
    """snake_case fields read from the domain's views, camelCase keys in the JSON."""

    model_config = ConfigDict(
        from_attributes=True, alias_generator=AliasGenerator(serialization_alias=to_camel)
    )
