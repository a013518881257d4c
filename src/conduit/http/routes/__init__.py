"""Routers, one module per resource.

The RealWorld routers carry the ``/api`` prefix themselves, so each route's ``path`` is its
full template (what metrics are labelled with).

The application adds each router's routes to its own list (:func:`resource_router`,
:func:`conduit.http.app.create_app`) instead of including the routers: an included router is a
nested route table, matched again inside for every request that reaches it. Its routes then
carry the application-wide dependency themselves, given here.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from conduit.http.input import storable_input

API_PREFIX = "/api"


def resource_router(*, prefix: str = "", tags: list[str], in_schema: bool = True) -> APIRouter:
    """A module's router. Text the database cannot store is refused before any of its routes
    runs (422 naming the field): :func:`conduit.http.input.storable_input` is each route's first
    dependency."""
    return APIRouter(
        prefix=prefix,
        tags=list(tags),
        dependencies=[Depends(storable_input)],
        include_in_schema=in_schema,
    )
