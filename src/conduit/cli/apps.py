"""The command tree. Each command module registers its verbs on one of these apps."""

from __future__ import annotations

import typer

# Click's plain help layout: Typer's rich one labels every flag ``<bool>`` as if it took a value,
# and reads a help text's ``[default: ...]`` as markup and drops it.
PLAIN_HELP = None

root = typer.Typer(
    name="conduit",
    help="Conduit: serve the API and run its database toolkit.",
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
    help="Check, analyse, seed and recount the database.",
    no_args_is_help=True,
    rich_markup_mode=PLAIN_HELP,
)
users_app = typer.Typer(
    help="Administer user accounts.", no_args_is_help=True, rich_markup_mode=PLAIN_HELP
)

root.add_typer(migrate_app, name="migrate")
root.add_typer(db_app, name="db")
root.add_typer(users_app, name="users")
