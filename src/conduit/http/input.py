"""Input the database cannot store, refused before any statement runs: one rule for every field.

PostgreSQL refuses NUL (U+0000) in text, and neither dialect can encode a lone surrogate (what
a JSON ``"\\ud800"`` escape decodes to) as UTF-8: such text in a path parameter, a query parameter
or any string of a JSON body is a 422 naming the field, on every dialect, instead of an error
from the driver. A JSON body nested deeper than :data:`MAX_DEPTH` levels is refused as a whole
(422 under ``body``), so no walk over it can exhaust the stack, and so is one that is not
UTF-8.

Installed as an application-wide dependency: it runs for every route before the route's own
dependencies (authentication included) and before its parameters are validated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

MAX_DEPTH = 32
NESTED_TOO_DEEPLY = f"is nested deeper than {MAX_DEPTH} levels"
NOT_UTF8 = "is not valid UTF-8"
UNSTORABLE = "can't contain NUL characters or unpaired surrogates"
# For the contract: strings that satisfy this hold no NUL. (Unpaired surrogates cannot be
# written in the UTF-8 of a URL; in JSON only as \\u escapes, which no schema pattern sees.)
NO_NUL_PATTERN = r"^[^\x00]*$"


def storable(text: str) -> bool:
    """Whether the database can store ``text``: no NUL, and encodable as UTF-8."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


async def storable_input(request: Request) -> None:
    """Raise a validation error naming every parameter or body field the database cannot store."""
    errors: list[dict[str, Any]] = []
    for location, items in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    ):
        errors.extend(
            _unstorable((location, name), value)
            for name, value in items
            if isinstance(value, str) and not storable(value)
        )
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and route.body_field is not None:
        errors.extend(await _body_errors(request))
    if errors:
        raise RequestValidationError(errors)


async def _body_errors(request: Request) -> list[dict[str, Any]]:
    try:
        # Already parsed by FastAPI for a JSON body (Starlette keeps the result); anything else
        # is not JSON and is left to the body's own validation.
        payload = await request.json()
    except (ValueError, RecursionError):
        return []
    try:
        # JSON is UTF-8 (RFC 8259); Python's parser also takes UTF-16 and UTF-32.
        (await request.body()).decode()
    except UnicodeDecodeError:
        return [_body_error(NOT_UTF8)]
    try:
        return [_unstorable(("body", *path), text) for path, text in _strings(payload, ())]
    except _TooDeep:
        return [_body_error(NESTED_TOO_DEEPLY)]


def _body_error(message: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": ("body",), "msg": message, "input": ""}


class _TooDeep(Exception):
    pass


def _strings(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """The unstorable strings in a parsed JSON value, each with its path (keys and indexes).

    Raises _TooDeep for an object or array inside :data:`MAX_DEPTH` others.
    """
    if isinstance(value, str):
        if not storable(value):
            yield path, value
        return
    if isinstance(value, (dict, list)) and len(path) >= MAX_DEPTH:
        raise _TooDeep
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _unstorable(loc: tuple[str | int, ...], value: str) -> dict[str, Any]:
    # The error handler names the last key of ``loc``: the field, not its index in a list.
    return {"type": "value_error", "loc": loc, "msg": UNSTORABLE, "input": value}
