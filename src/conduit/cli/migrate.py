"""The `conduit migrate` verbs: init, create, upgrade, downgrade, current, history, check, sql.

Each verb is a thin function over :class:`conduit.db.migrations.Migrations`; failures become one
line on stderr and exit 1 through :func:`conduit.cli.runner.run`. They work on Conduit's own
migrations, or on any project's given ``--config DIR/alembic.ini`` (or
``CONDUIT_ALEMBIC_CONFIG``), such as one ``conduit migrate init`` wrote.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from alembic.util.exc import CommandError
from rich.table import Table
from sqlalchemy.engine import URL

from conduit.cli.apps import migrate_app
from conduit.cli.runner import (
    CommandFailed,
    console,
    err_console,
    fail,
    handled,
    print_json,
    run,
    settings,
)
from conduit.db.migration_scaffold import scaffold
from conduit.db.migrations import Migrations, MigrationState, Revision
from conduit.migrations import location as bundled_migrations
from conduit.settings import Settings

UPGRADE_HINT = "run `conduit migrate upgrade`"
ALEMBIC_CONFIG_ENV = "CONDUIT_ALEMBIC_CONFIG"
_ALEMBIC_CONFIG_KEY = "conduit.alembic_config"
# A placeholder database for rendering SQL offline: only the dialect matters.
OFFLINE_URLS = {
    "postgresql": URL.create("postgresql+asyncpg", host="offline", database="conduit"),
    "sqlite": URL.create("sqlite+aiosqlite", database="conduit.db"),
    "mysql": URL.create("mysql+aiomysql", host="offline", database="conduit"),
}


def say(text: str) -> None:
    """Print one plain line to stdout (no markup, no wrapping: paths and URLs stay whole)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@migrate_app.callback()
def _migrate_options(
    ctx: typer.Context,
    alembic_config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar=ALEMBIC_CONFIG_ENV,
            help="Another project's alembic.ini (e.g. one `conduit migrate init` wrote); "
            "default: Conduit's own migrations.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Create, apply, inspect and check schema migrations (Conduit's, or any project's)."""
    ctx.meta[_ALEMBIC_CONFIG_KEY] = alembic_config


def alembic_ini(ctx: typer.Context | None) -> Path | None:
    """The alembic.ini chosen with ``conduit migrate --config`` (or CONDUIT_ALEMBIC_CONFIG).

    Only the ``migrate`` verbs read it: ``serve``, ``db check`` and ``db seed`` always work on
    Conduit's own migrations.
    """
    chosen = ctx.meta.get(_ALEMBIC_CONFIG_KEY) if ctx is not None else None
    return chosen if isinstance(chosen, Path) else None


def migrations_for(config: Settings, ctx: typer.Context | None = None) -> Migrations:
    """Conduit's migrations, or those of the alembic.ini chosen (see :func:`alembic_ini`)."""
    ini = alembic_ini(ctx)
    if ini is not None:
        with handled():
            return Migrations.from_ini(config.database, ini)
    folder = config.migrations_dir
    if not (folder / "env.py").is_file() or not (folder / "versions").is_dir():
        fail(
            f"MIGRATIONS_DIR: {folder} is not a migrations folder (it needs env.py and versions/)",
            hint="unset MIGRATIONS_DIR to use Conduit's own migrations",
        )
    return Migrations(config.database, script_location=folder)


def pending(migrations: Migrations, state: MigrationState) -> list[Revision]:
    """The revisions not yet applied to a database in ``state``, oldest first."""
    script = migrations.script
    try:
        applied = {
            rev.revision
            for rev in script.iterate_revisions(state.current, "base")
            if rev is not None
        }
    except CommandError as exc:
        # The database names a revision this migrations folder does not have.
        raise CommandFailed(
            f"the database is at revision {', '.join(state.current)}, unknown here: {exc}",
            hint="is MIGRATIONS_DIR the folder this database was migrated from?",
        ) from None
    return [rev for rev in reversed(migrations.history()) if rev.revision not in applied]


def describe_revisions(revisions: list[Revision]) -> str:
    return ", ".join(f"{rev.revision} ({rev.message})" for rev in revisions)


def _label(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) if revisions else "base (empty schema)"


@migrate_app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="The folder to create (new or empty), e.g. migrations.")
    ],
    models: Annotated[
        str,
        typer.Option(
            "--models",
            help="The module that imports every model and exposes their metadata (a "
            "`metadata` attribute or a declarative `Base`), e.g. myapp.models.",
        ),
    ],
) -> None:
    """Write an async Alembic environment for another project's models (run from its root)."""
    with handled():
        written = scaffold(
            directory, models=models, template=bundled_migrations() / "script.py.mako"
        )
    for path in written:
        say(f"Created {path}")
    ini = directory / "alembic.ini"
    say(
        f"Next: DATABASE_URL=... conduit migrate --config {ini} create 'initial schema' "
        f"(or {directory / 'migrate.sh'} create 'initial schema'), review it, then upgrade."
    )


@migrate_app.command()
def create(
    ctx: typer.Context,
    message: Annotated[str, typer.Argument(help="What the revision changes, e.g. 'add bio'.")],
    empty: Annotated[
        bool, typer.Option("--empty", help="Write an empty revision; do not compare with the DB.")
    ] = False,
) -> None:
    """Write a new revision, autogenerated from the models against the configured database.

    The file imports what it uses and is formatted with ruff, so it passes `conduit migrate
    lint` and `ruff format --check` untouched. Fails, naming them, when mapped models exist
    that the models module (Conduit's: conduit.domain.schema) does not import. Review the
    revision before applying it: autogenerate misses renames and data moves.
    """
    migrations = migrations_for(settings(), ctx)
    # Alembic prints its own progress line; the path printed below says the same, once.
    with contextlib.redirect_stdout(io.StringIO()):
        created = run(migrations.create(message, autogenerate=not empty))
    say(f"Created {created.path}")
    if created.note:
        err_console.print(f"warning: {created.note}", markup=False)
    if not empty:
        say("Review it before applying: autogenerate misses renames and data moves.")


@migrate_app.command()
def upgrade(
    ctx: typer.Context,
    revision: Annotated[
        str, typer.Argument(help="Target revision: an id (or a unique prefix), head, or +N.")
    ] = "head",
) -> None:
    """Apply migrations up to REVISION (default: head).

    On PostgreSQL the upgrade holds an advisory lock, so instances that run it at once apply
    each revision once; it connects to DATABASE_DIRECT_URL when set (past PgBouncer).
    """
    config = settings()
    migrations = migrations_for(config, ctx)
    before = run(migrations.state())
    run(migrations.upgrade(revision))
    after = run(migrations.state())
    if before.current == after.current:
        say(f"Nothing to apply: the database is at {_label(after.current)}.")
    else:
        say(f"Upgraded {_label(before.current)} -> {_label(after.current)}.")


@migrate_app.command()
def downgrade(
    ctx: typer.Context,
    revision: Annotated[
        str, typer.Argument(help="Target revision, or -N steps back, or 'base'.")
    ] = "-1",
) -> None:
    """Revert migrations down to REVISION (default: one step back; base reverts them all).

    Exits 1 when no migration is applied. On PostgreSQL it holds the same advisory lock as
    upgrade.
    """
    migrations = migrations_for(settings(), ctx)
    before = run(migrations.state())
    if not before.current:
        fail("the database has no migration applied; there is nothing to downgrade")
    run(migrations.downgrade(revision))
    after = run(migrations.state())
    say(f"Downgraded {_label(before.current)} -> {_label(after.current)}.")


@migrate_app.command()
def current(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the database's revision and whether it is at head (else how many are pending)."""
    migrations = migrations_for(settings(), ctx)
    state = run(migrations.state())
    with handled():
        behind = pending(migrations, state)
    if as_json:
        print_json(
            {
                "current": list(state.current),
                "heads": list(state.heads),
                "pending": [rev.revision for rev in behind],
            }
        )
        return
    status = "(head)" if state.is_current else f"({len(behind)} pending: {UPGRADE_HINT})"
    say(f"{_label(state.current)} {status}")


@migrate_app.command()
def history(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the revisions, newest first: id, the one it follows, message and file."""
    revisions = migrations_for(settings(), ctx).history()
    if as_json:
        print_json([_revision_dict(rev) for rev in revisions])
        return
    table = Table(title="Migrations (newest first)")
    table.add_column("revision", no_wrap=True, style="bold")
    table.add_column("down", no_wrap=True)
    table.add_column("message")
    table.add_column("file", overflow="fold")
    for rev in revisions:
        head = " (head)" if rev.is_head else ""
        table.add_row(rev.revision + head, rev.down_revision or "base", rev.message, rev.path.name)
    console.print(table)


@migrate_app.command()
def check(ctx: typer.Context) -> None:
    """Exit 1 if the models and the migrated schema differ (or the database is behind head).

    Compares the models with the database as autogenerate would, writing nothing, and fails
    naming any mapped model that the models module does not import.
    """
    migrations = migrations_for(settings(), ctx)
    state = run(migrations.state())
    if not state.is_current:
        with handled():
            behind = pending(migrations, state)
        fail(
            f"the database is behind head by {len(behind)} revision(s): "
            f"{describe_revisions(behind)}",
            hint=UPGRADE_HINT,
        )
    # Alembic prints its own verdict; the line below is the one this command owns.
    with contextlib.redirect_stdout(io.StringIO()):
        run(migrations.check())
    say("No drift: the models match the migrated schema.")


@migrate_app.command()
def sql(
    ctx: typer.Context,
    revision_range: Annotated[
        str, typer.Argument(metavar="RANGE", help="FROM:TO, e.g. base:head or head:base.")
    ] = "base:head",
    dialect: Annotated[
        str | None,
        typer.Option(
            "--dialect",
            help=(
                "Render for this dialect (postgresql, sqlite or mysql: MySQL 8's collation)"
                " instead of DATABASE_URL's."
            ),
        ),
    ] = None,
) -> None:
    """Print the SQL of a migration range without touching any database.

    A bare REVISION means base:REVISION; a range from a newer to an older revision prints the
    downgrade.
    """
    config = settings()
    if dialect is not None and dialect not in OFFLINE_URLS:
        raise typer.BadParameter(
            f"{dialect!r} is not one of {', '.join(OFFLINE_URLS)}", param_hint="--dialect"
        )
    # Offline mode needs no upper bound's "current": a bare target means from base.
    if ":" not in revision_range:
        revision_range = f"base:{revision_range}"
    url = None
    if dialect is not None and dialect != config.async_database_url.get_backend_name():
        url = OFFLINE_URLS[dialect]
    with handled():
        rendered = migrations_for(config, ctx).sql(revision_range, url=url)
    sys.stdout.write(rendered)


def _revision_dict(rev: Revision) -> dict[str, Any]:
    return {
        "revision": rev.revision,
        "down_revision": rev.down_revision,
        "message": rev.message,
        "file": rev.path.name,
        "is_head": rev.is_head,
    }
