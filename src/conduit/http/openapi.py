"""``/openapi.json``: FastAPI's document, completed with what the server does for every operation.

The routes declare what is particular to them (a 404's meaning, a 409's cause). What follows
from how an operation is built is added here, from its dependencies, so it cannot drift:

- the ``Token`` security scheme (``Authorization: Token <jwt>``), required by operations that
  need a signed-in caller and optional (``[{}, {"Token": []}]``) where a token only changes the
  view; both answer 401 to a bad token;
- 422 wherever there is a parameter or a body (with the one error body, not FastAPI's
  ``detail`` shape), 413 wherever there is a body, 503 with ``Retry-After`` wherever the
  database is used;
- every error status answers :class:`ErrorBody`;
- every string a request carries states the input rule (no NUL, :mod:`conduit.http.input`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from conduit.http import deps
from conduit.http.input import NO_NUL_PATTERN
from conduit.http.schemas.common import ErrorBody

SCHEME = "Token"
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_ERROR_CONTENT = {"application/json": {"schema": ERROR_REF}}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}
_GENERIC: dict[str, str] = {
    "401": "Missing, invalid or expired token (`token`), or a deactivated account",
    "413": "The body is larger than the server accepts (`request`)",
    "422": "A parameter or field is invalid (named in the error body), or the body is not "
    "JSON, not UTF-8, or nested too deeply (`body`)",
    "503": "The database is unavailable or too busy (`database`); retry after `Retry-After`",
}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI) -> None:
    """Serve the completed document (built once, on first request) at ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components["securitySchemes"] = {
        SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <jwt>`: the `token` of a user response (`Bearer` works too)",
        }
    }
    for route in _routes(app):
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _complete(operation, route)
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    for schema in _request_schemas(document):
        _state_the_input_rule(schema, schemas)
    return document


def _routes(app: FastAPI) -> Iterator[APIRoute]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            yield route


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _complete(operation: dict[str, Any], route: APIRoute) -> None:
    calls = set(_calls(route.dependant))
    statuses: list[str] = []
    if deps.current_user in calls:
        operation["security"] = [{SCHEME: []}]
        statuses.append("401")
    elif deps.optional_token in calls:
        operation["security"] = [{}, {SCHEME: []}]
        statuses.append("401")
    if route.body_field is not None:
        statuses.append("413")
    if operation.get("parameters") or route.body_field is not None:
        statuses.append("422")
    if calls & {deps.get_session, deps.get_database}:
        statuses.append("503")
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(status, {"description": _GENERIC[status]})
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            _error_response(status, response)
    operation["responses"] = dict(sorted(responses.items()))


def _error_response(status: str, response: dict[str, Any]) -> None:
    content = response.setdefault("content", {})
    json_content = content.setdefault("application/json", {})
    schema = json_content.get("schema", {})
    if not schema or schema.get("$ref", "").endswith(_FASTAPI_VALIDATION):
        json_content["schema"] = ERROR_REF
    if status == "422" and response.get("description") == "Validation Error":
        response["description"] = _GENERIC["422"]
    if status in ("429", "503"):
        response.setdefault("headers", _RETRY_AFTER)


def _request_schemas(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The schema of every parameter and request body, in place."""
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                yield parameter["schema"]
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                yield media["schema"]


def _state_the_input_rule(
    schema: dict[str, Any], components: dict[str, Any], seen: set[str] | None = None
) -> None:
    """Give every string schema under ``schema`` without a pattern of its own the NUL rule."""
    seen = set() if seen is None else seen
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            _state_the_input_rule(components[name], components, seen)
        return
    if schema.get("type") == "string" and "pattern" not in schema and "format" not in schema:
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for item in schema.get(key, ()):
            _state_the_input_rule(item, components, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _state_the_input_rule(schema[key], components, seen)
    for item in schema.get("properties", {}).values():
        _state_the_input_rule(item, components, seen)
