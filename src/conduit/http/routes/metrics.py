"""``/metrics``: Prometheus exposition of the service's metrics.

Disabled with ``METRICS_ENABLED=false``; protected by ``METRICS_TOKEN`` (sent as
``Authorization: Bearer <token>``) when that is set. In production one of the two is required
(the settings refuse to load otherwise), so metrics are never open there.
"""

from __future__ import annotations

import hmac
import logging

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from conduit.db.errors import DatabaseError
from conduit.db.migrations import Migrations
from conduit.http.deps import DatabaseDep, SettingsDep
from conduit.http.errors import ApiError
from conduit.http.routes import resource_router
from conduit.http.security import Passwords

logger = logging.getLogger(__name__)
router = resource_router(tags=["operations"], in_schema=False)


def schema_gauge(registry: CollectorRegistry) -> Gauge:
    return Gauge(
        "conduit_db_schema_at_head",
        "1 when the database schema is at the migrations' head, 0 when not or unknown.",
        registry=registry,
    )


def hashing_gauges(registry: CollectorRegistry, passwords: Passwords) -> None:
    """The password hasher's load: a login flood shows as hashes waiting for a slot."""
    Gauge(
        "conduit_password_hashes_in_progress", "Password hashes running now.", registry=registry
    ).set_function(lambda: passwords.in_progress)
    Gauge(
        "conduit_password_hashes_waiting", "Password hashes waiting for a slot.", registry=registry
    ).set_function(lambda: passwords.waiting)
    Gauge(
        "conduit_password_hashes_peak", "The most password hashes run at once.", registry=registry
    ).set_function(lambda: passwords.peak)


@router.get("/metrics")
async def metrics(request: Request, settings: SettingsDep, database: DatabaseDep) -> Response:
    if settings.metrics_token:
        expected = f"Bearer {settings.metrics_token}"
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError(401, "token", "is invalid", headers={"WWW-Authenticate": "Bearer"})
    at_head: Gauge = request.app.state.schema_gauge
    migrations = Migrations(settings.database, script_location=settings.migrations_dir)
    try:
        state = await migrations.state(engine=database.engine)
        at_head.set(1 if state.is_current else 0)
    except DatabaseError as exc:
        logger.warning("metrics: cannot read the schema revision: %s", exc.message)
        at_head.set(0)
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
