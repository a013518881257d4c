"""The command tree. Each command module registers its verbs on one of these apps."""

from __future__ import annotations

import typer

# Click's plain help layout: Typer's rich one labels every flag ``<bool>`` as if it took a value,
# and reads a help text's ``[default: ...]`` as markup and drops it.
PLAIN_HELP = None

root = typer.Typer(
    name="conduit",
    help="Conduit: serve the API and run its database toolkit.\n\n"
    "Every command reads its settings from the environment and from ./.env (DATABASE_URL, "
    "SECRET_KEY, ...; .env.example lists them). A failure prints one line on stderr with a "
    "hint; the exit status is 0 on success, 1 on failure, 2 on a usage error.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=PLAIN_HELP,
)
migrate_app = typer.Typer(
    help="Create, apply, inspect and check schema migrations (Conduit's, or any project's with "
    "--config).",
    no_args_is_help=True,
    rich_markup_mode=PLAIN_HELP,
)
db_app = typer.Typer(
    help="Inspect and maintain the database: check it, analyse its indexes and queries, seed "
    "demo data, recount the kept counts.",
    no_args_is_help=True,
    rich_markup_mode=PLAIN_HELP,
)
users_app = typer.Typer(
    help="Administer user accounts: what the API deliberately cannot do (roles).",
    no_args_is_help=True,
    rich_markup_mode=PLAIN_HELP,
)

root.add_typer(migrate_app, name="migrate")
root.add_typer(db_app, name="db")
root.add_typer(users_app, name="users")
