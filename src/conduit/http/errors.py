"""One error body for every failure: ``{"errors": {"<subject>": ["message"]}}``.

Domain errors and translated database errors are mapped to a status here and nowhere else;
FastAPI's own ``{"detail": ...}`` bodies, validation errors included, never reach a client.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from conduit.db import errors as db_errors
from conduit.db.pagination import InvalidCursor
from conduit.domain import errors as domain_errors
from conduit.http.input import NESTED_TOO_DEEPLY, NOT_UTF8

logger = logging.getLogger(__name__)

# The parameter of every keyset page (conduit.http.params), the subject of its errors.
CURSOR = "cursor"

_DOMAIN_STATUS: dict[type[domain_errors.DomainError], int] = {
    domain_errors.UnauthorizedError: 401,
    domain_errors.ForbiddenError: 403,
    domain_errors.NotFoundError: 404,
    domain_errors.ConflictError: 409,
    domain_errors.InvalidError: 422,
}


def error_body(subject: str, *messages: str) -> dict[str, dict[str, list[str]]]:
    return {"errors": {subject: list(messages)}}


def error_response(
    status: int, subject: str, *messages: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(subject, *messages), status_code=status, headers=headers)


class ApiError(Exception):
    """An error raised by the HTTP layer itself (authentication, request limits)."""

    def __init__(
        self, status: int, subject: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{subject} {message}")
        self.status = status
        self.subject = subject
        self.message = message
        self.headers = headers


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(domain_errors.DomainError, _domain_error)
    app.add_exception_handler(db_errors.DatabaseError, _database_error)
    app.add_exception_handler(InvalidCursor, _invalid_cursor)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unhandled)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.subject, exc.message, headers=exc.headers)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, domain_errors.DomainError)
    status = next((code for kind, code in _DOMAIN_STATUS.items() if isinstance(exc, kind)), 422)
    return JSONResponse({"errors": exc.errors}, status_code=status)


async def _invalid_cursor(_request: Request, exc: Exception) -> JSONResponse:
    # Why (altered, another list's, another order's) stays on the server: it helps forgers only.
    return error_response(422, CURSOR, "is invalid")


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, db_errors.DatabaseError)
    if isinstance(exc, db_errors.NotFound):
        return error_response(404, "resource", "not found")
    if isinstance(exc, db_errors.Conflict):
        return error_response(409, conflict_subject(exc.constraint), "has already been taken")
    if isinstance(exc, db_errors.IntegrityError):
        return error_response(422, "request", "violates a data constraint")
    if isinstance(exc, (db_errors.Busy, db_errors.Retryable)):
        logger.warning("database busy: %s", exc.message)
        return busy_response()
    if isinstance(exc, db_errors.Unavailable):
        logger.warning("database unavailable: %s", exc.message)
        return error_response(503, "database", "unavailable", headers={"Retry-After": "5"})
    logger.error("database error: %s", exc.message)
    return error_response(500, "server", "internal error")


# A lock wait or a full pool usually clears within a lock timeout: worth trying again soon.
BUSY_RETRY_AFTER_SECONDS = 1


def busy_response() -> JSONResponse:
    """The answer when a bounded wait ran out (lock, statement, pool, request deadline)."""
    return error_response(
        503, "database", "busy", headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}
    )


def conflict_subject(constraint: str | None) -> str:
    """``uq_users_email`` → ``email``: the field a unique constraint protects."""
    if constraint and constraint.startswith("uq_"):
        parts = constraint.split("_", 2)
        if len(parts) == 3:
            return parts[2]
    return "resource"


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        subject, message = _describe(error)
        messages = errors.setdefault(subject, [])
        if message not in messages:
            messages.append(message)
    return JSONResponse({"errors": errors}, status_code=422)


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    loc: Sequence[Any] = error.get("loc", ())
    names = [str(part) for part in loc if isinstance(part, str)]
    # Skip the location ("body", "query") and wrapper keys ("user", "article"): the field is last.
    subject = names[-1] if len(names) > 1 else (names[0] if names else "request")
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return subject, domain_errors.BLANK
    if error.get("input") is None and kind not in ("json_invalid",):
        return subject, domain_errors.BLANK
    if kind == "json_invalid":
        return "body", NOT_JSON
    return subject, str(error.get("msg", "is invalid")).removeprefix("Value error, ")


# Bodies that cannot be parsed: every kind is a 422 under "body", whatever the parser tripped on.
NOT_JSON = "is not valid JSON"


def _unparsable_body(exc: StarletteHTTPException) -> str | None:
    """The message for FastAPI's 400 "error parsing the body", or None for any other 400.

    FastAPI answers 422 for JSON that does not decode but 400 when decoding raises anything else:
    bytes that are not UTF-8, nesting that exhausts the parser's stack, a number too long to
    convert. It chains the cause, which tells them apart.
    """
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return None
    if isinstance(cause, UnicodeDecodeError):
        return NOT_UTF8
    if isinstance(cause, RecursionError):
        return NESTED_TOO_DEEPLY
    return NOT_JSON


def allowed_methods(request: Request) -> str | None:
    """The methods the contract declares for the request's path, for a 405's ``Allow``.

    Starlette's own 405 names only the methods of the first route that matched the path. Here
    the path's resource in ``/openapi.json`` counts: of the templates that match, the most
    specific (``/api/articles/feed`` over ``/api/articles/{slug}``). None for a path the
    contract does not describe.
    """
    path = request.scope["path"]
    matching = [
        (template.count("{"), operations)
        for template, operations in request.app.openapi().get("paths", {}).items()
        if _template_pattern(template).fullmatch(path)
    ]
    if not matching:
        return None
    fewest = min(parameters for parameters, _ in matching)
    methods = {
        method.upper()
        for parameters, operations in matching
        if parameters == fewest
        for method in operations
        if method in _HTTP_METHODS
    }
    return ", ".join(sorted(methods))


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@functools.lru_cache(maxsize=256)
def _template_pattern(template: str) -> re.Pattern[str]:
    """``/api/articles/{slug}`` → a pattern where each parameter is one path segment."""
    literal_parts = re.split(r"\{[^}]*\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in literal_parts))


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if (message := _unparsable_body(exc)) is not None:
        return error_response(422, "body", message)
    subject = {404: "path", 405: "method", 413: "request"}.get(exc.status_code, "request")
    detail = str(exc.detail).lower() if exc.detail else "error"
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := allowed_methods(request)) is not None:
        headers["Allow"] = allowed
    return error_response(exc.status_code, subject, detail, headers=headers)


async def _unhandled(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "server", "internal error")
