"""The command tree. Each command module registers its verbs on one of these apps."""

from __future__ import annotations

import typer

root = typer.Typer(
    name="conduit",
    help="Conduit: serve the API and run its database toolkit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
migrate_app = typer.Typer(
    help="Create, apply, inspect and check schema migrations (Conduit's, or any project's with "
    "--config).",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Check, analyse, seed and recount the database.", no_args_is_help=True)
users_app = typer.Typer(help="Administer user accounts.", no_args_is_help=True)

root.add_typer(migrate_app, name="migrate")
root.add_typer(db_app, name="db")
root.add_typer(users_app, name="users")
