"""The application factory and its lifespan."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry
from starlette.middleware.cors import CORSMiddleware

from conduit import __version__
from conduit.db.querylog import QueryLog
from conduit.db.session import Database
from conduit.http import errors, openapi, read_after
from conduit.http.middleware import RequestEnvelope, TrustedHosts
from conduit.http.observability import PoolCollector, ReplicaCollector, RequestMetrics
from conduit.http.ratelimit import AbuseLimits
from conduit.http.read_after import ReadAfter
from conduit.http.routes import admin, articles, comments, credits, health, profiles, tags, users
from conduit.http.routes import metrics as metrics_route
from conduit.http.security import Passwords, TokenCodec
from conduit.settings import Settings, load_settings


def _freeze_startup_objects() -> None:
    """Move what start-up built out of the garbage collector's sight (``gc.freeze()``).

    Modules, mappers, schemas, routes and compiled statements live as long as the process, yet
    every full collection walked them all: a pause of the whole worker, felt by each request in
    flight as tail latency. Frozen, a full collection walks only what was allocated since.
    Only a served process (one that owns its database) freezes: a test process creates many
    apps, and would freeze each one's garbage for good.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the application.

    Given a ``database``, the app uses it and leaves it open (the tests pass one bound to an
    outer transaction); otherwise the lifespan creates the engine on start and disposes it on stop.
    """
    settings = settings or load_settings()
    metrics = RequestMetrics(CollectorRegistry()) if settings.metrics_enabled else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        if owned:
            app.state.database = Database.from_config(settings.database)
            await app.state.database.start()  # the replicas' first check, then in the background
        db: Database = app.state.database
        if metrics is not None:
            metrics.registry.register(PoolCollector(db.engine))
            metrics.registry.register(ReplicaCollector(db.replicas))
        # The query log is the service's own: installed here, not in the engine factory, so
        # CLI tools such as `db analyze` do not log their own statements.
        query_log = QueryLog(settings.query_log) if settings.query_log else None
        if query_log is not None:
            for engine in (db.engine, *db.replica_engines()):
                query_log.install(engine)
        if owned:
            _freeze_startup_objects()
        try:
            yield
        finally:
            if query_log is not None:
                query_log.close()
            await app.state.abuse_limits.aclose()
            if owned:
                await db.dispose()

    app = FastAPIOffline(
        title="Conduit",
        version=__version__,
        description="A RealWorld publishing-platform API on FastAPI and SQLAlchemy.",
        lifespan=lifespan,
        docs_url="/docs" if settings.serves_docs else None,
        redoc_url="/redoc" if settings.serves_docs else None,
        # The pages' scripts, styles and icon are served locally; Swagger UI's validator badge
        # would still send the schema's address to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.settings = settings
    app.state.database = database
    app.state.tokens = TokenCodec(
        secret=settings.jwt_secret, ttl=dt.timedelta(minutes=settings.access_token_ttl_minutes)
    )
    app.state.passwords = Passwords(concurrency=settings.password_hash_concurrency)
    app.state.abuse_limits = AbuseLimits.from_settings(settings)
    errors.install(app)
    openapi.install(app)
    _add_routes(app, health.router)
    app.state.metrics = metrics
    if metrics is not None:
        app.state.schema_gauge = metrics_route.schema_gauge(metrics.registry)
        metrics_route.hashing_gauges(metrics.registry, app.state.passwords)
        _add_routes(app, metrics_route.router)
    for module in (users, profiles, articles, comments, tags, credits, admin):
        _add_routes(app, module.router)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", read_after.HEADER],
            expose_headers=["X-Request-ID", read_after.HEADER],
        )
    if settings.database.replica_urls:
        app.add_middleware(
            ReadAfter,
            max_lag_ms=settings.replica_max_lag_ms,
            check_interval_s=settings.replica_check_interval_s,
        )
    hosts = () if "*" in settings.allowed_hosts else settings.allowed_hosts
    if hosts:
        app.add_middleware(TrustedHosts, allowed_hosts=hosts)
    # Outermost: the request's id names every log line of the request, and the timing, the
    # statement count and the deadline cover all of it.
    app.add_middleware(
        RequestEnvelope,
        deadline_s=settings.request_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        max_bytes=settings.max_body_bytes,
        metrics=metrics,
        server_timing=settings.server_timing,
        allowed_hosts=hosts,
    )
    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes, in the app's own route table: matched once per request, directly.

    ``include_router`` would nest the router, scanned (and, for the one that matches, scanned
    again) on every request that reaches it; the routes carry their dependencies themselves
    (:func:`conduit.http.routes.resource_router`).
    """
    app.router.routes.extend(router.routes)
