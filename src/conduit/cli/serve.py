"""`conduit serve`: apply pending migrations, then run the API under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from conduit.cli.apps import root
from conduit.cli.migrate import migrations_for, say
from conduit.cli.runner import fail, run, settings
from conduit.db import url as db_url
from conduit.log import log_config
from conduit.settings import Settings, SettingsError

APP_FACTORY = "conduit.http.app:create_app"


@root.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    no_migrate: Annotated[
        bool, typer.Option("--no-migrate", help="Do not apply pending migrations first.")
    ] = False,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart on code changes (development only).")
    ] = False,
) -> None:
    """Serve the API (after applying pending migrations, unless --no-migrate)."""
    if reload and workers > 1:
        raise typer.BadParameter("--reload runs a single worker", param_hint="--workers")
    config = settings()
    migrations = migrations_for(config)
    _share_secret_key(config)
    if not no_migrate:
        before = run(migrations.state())
        # Safe when several instances start at once: upgrade holds an advisory lock on PostgreSQL.
        run(migrations.upgrade())
        after = run(migrations.state())
        if before.current != after.current:
            say(f"Migrated the database to {', '.join(after.current)}.")
    plural = "s" if workers > 1 else ""
    say(
        f"Conduit serving on http://{host}:{port} ({workers} worker{plural}, "
        f"database {db_url.mask(config.async_database_url)})"
    )
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        # "auto" picks uvloop and httptools when installed (uvicorn[standard] installs them).
        loop="auto",
        http="auto",
        # X-Forwarded-For and -Proto are believed only from these peers (the load balancer's
        # addresses): anyone else could pick the client address the rate limits count by.
        proxy_headers=True,
        forwarded_allow_ips=config.forwarded_allow_ips,
        log_level=config.log_level.lower(),
        # Off: uvicorn then builds no access line at all (not even one a level would drop).
        access_log=config.access_log,
        log_config=log_config(level=config.log_level, fmt=config.log_format),
    )


def _share_secret_key(config: Settings) -> None:
    """Give every worker the same signing key, so a token from one is valid on the others.

    Without SECRET_KEY the settings make up a random key (and warn, or refuse in production);
    each worker would make up its own, so the one made here is handed down the environment.
    """
    if config.secret_key:
        return
    try:
        secret = config.jwt_secret
    except SettingsError as exc:
        fail(str(exc), hint="set SECRET_KEY in the environment or in .env")
    os.environ["SECRET_KEY"] = secret
