"""Response bodies built by PostgreSQL: compact JSON text from SQL expressions.

A hot read can have the database write its JSON, so that Python passes the text through instead
of building objects, validating and serialising them. The text must be exactly what the API's
response models would write: keys in the models' order, no whitespace (``{"a":1,"b":"x"}``),
strings escaped as JSON requires, UTF-8 left as is, ``null`` for NULL. PostgreSQL's
``json_build_object`` puts spaces around its separators and ``jsonb`` reorders keys, so objects
are concatenated here from constant key fragments and ``to_json`` values, which escapes strings
the way Python's ``json`` and pydantic-core do (the short escapes ``\\" \\\\ \\b \\f \\n \\r
\\t``, ``\\u00XX`` for the other control characters, nothing else).

PostgreSQL only: the expressions use its functions and its ``||``.

Which keys a document has, and in which order, is not decided here: a read selects labelled
columns, and a :data:`Document` (the HTTP layer writes them from its response models) turns
them into the one JSON column that the read selects instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, ColumnExpressionArgument, Text, cast, func, literal_column
from sqlalchemy.ext.asyncio import AsyncSession


def supported(session: AsyncSession) -> bool:
    """Whether the session's database builds documents (PostgreSQL)."""
    return session.get_bind().dialect.name == "postgresql"


# A value already written as JSON text (a nested object or array), passed through as is.
JsonText = ColumnElement[str]

# The label of the column a read selects a document as.
DOCUMENT = "document"

# A read's columns by label (the names of the fields they fill), as one JSON document.
Document = Callable[[Mapping[str, ColumnElement[Any]]], JsonText]

_STAMP = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'


def _constant(text: str) -> ColumnElement[str]:
    # Rendered inline, not bound: the fragments are the statement's shape, not its values.
    return literal_column("'" + text.replace("'", "''") + "'", Text)


def value(expression: ColumnExpressionArgument[Any]) -> JsonText:
    """``expression`` as a JSON value: a string quoted and escaped, a number or boolean as is,
    NULL as ``null``."""
    return func.coalesce(cast(func.to_json(expression), Text), _constant("null"))


def timestamp(expression: ColumnExpressionArgument[Any]) -> JsonText:
    """A ``timestamptz`` as ``"2026-11-21T10:00:00.000Z"``: UTC, milliseconds, ``Z``."""
    return value(func.to_char(func.timezone("UTC", expression), _constant(_STAMP)))


def string_array(aggregated: ColumnExpressionArgument[Any]) -> JsonText:
    """An ``array_agg`` of text as a JSON array; no rows (NULL) is ``[]``."""
    return func.coalesce(cast(func.array_to_json(aggregated), Text), _constant("[]"))


def obj(fields: Sequence[tuple[str, JsonText]]) -> JsonText:
    """``{"key":value,...}`` in the order given; every value must be JSON text (see above)."""
    parts: list[ColumnElement[str]] = []
    for index, (key, item) in enumerate(fields):
        parts.append(_constant(("{" if index == 0 else ",") + json.dumps(key) + ":"))
        parts.append(item)
    parts.append(_constant("}" if fields else "{}"))
    document = parts[0]
    for part in parts[1:]:
        document = document.op("||", return_type=Text)(part)
    return document


def array_of(documents: Sequence[str]) -> str:
    """Join JSON texts (already compact) into a compact JSON array."""
    return "[" + ",".join(documents) + "]"
