"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from conduit.db.errors import DatabaseError
from conduit.db.health import ping
from conduit.http.deps import DatabaseDep
from conduit.http.errors import error_response
from conduit.http.routes import resource_router

logger = logging.getLogger(__name__)
router = resource_router(tags=["health"])

# Readiness answers within a second even when the database hangs or the pool is saturated.
READY_TIMEOUT_SECONDS = 0.8


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    latencyMs: float  # noqa: N815 - the API's camelCase
    serverVersion: str  # noqa: N815


@router.get("/health", response_model=Liveness)
async def health() -> Liveness:
    return Liveness(status="ok")


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"description": "The database is unreachable"}},
)
async def ready(database: DatabaseDep) -> Readiness | JSONResponse:
    try:
        # The probe engine connects afresh: readiness never queues behind requests for the pool.
        result = await ping(database.probe_engine, timeout=READY_TIMEOUT_SECONDS)
    except DatabaseError as exc:
        # The cause names hosts and ports: it goes to the log, not to the client.
        logger.warning("readiness check failed: %s", exc.message)
        return error_response(503, "database", "unavailable")
    return Readiness(
        status="ok",
        database=result.dialect,
        latencyMs=round(result.latency_ms, 3),
        serverVersion=result.server_version,
    )
