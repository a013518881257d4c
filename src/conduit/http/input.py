"""Input the database cannot store, refused before any statement runs: one rule for every field.

PostgreSQL refuses NUL (U+0000) in text, and neither dialect can encode a lone surrogate (what
a JSON ``"\\ud800"`` escape decodes to) as UTF-8: such text in a path parameter, a query
parameter or a field of a JSON body is a 422 naming it, on every dialect, instead of an error
from the driver. :func:`storable` is the rule; :func:`storable_input` applies it to the
parameters, :class:`conduit.http.schemas.common.RequestModel` to the body's fields (the keys a
body model does not declare are ignored, as ever).

A JSON body that is not UTF-8, or nested deeper than :data:`MAX_DEPTH` levels, is refused as a
whole (422 under ``body``), like one that is not JSON.

:func:`storable_input` is an application-wide dependency: it runs for every route before the
route's own dependencies (authentication included) and before its parameters are validated.
"""

from __future__ import annotations

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
    """Raise a validation error naming every parameter the database cannot store, or the body
    if it is not UTF-8 or nested too deeply."""
    errors: list[dict[str, Any]] = []
    for location, items in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    ):
        errors.extend(
            {"type": "value_error", "loc": (location, name), "msg": UNSTORABLE, "input": value}
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
    if _nested_deeper(payload, MAX_DEPTH):
        return [_body_error(NESTED_TOO_DEEPLY)]
    return []


def _nested_deeper(value: Any, levels: int) -> bool:
    """Whether ``value`` holds objects or arrays nested more than ``levels`` deep."""
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        return False
    return levels == 0 or any(_nested_deeper(item, levels - 1) for item in value)


def _body_error(message: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": ("body",), "msg": message, "input": ""}
