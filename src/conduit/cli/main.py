"""Entry point of the ``conduit`` command."""

from __future__ import annotations

import os

import typer

# Imported for their side effect: each registers its verbs on the command tree.
from conduit.cli import (  # noqa: F401
    analyze,
    db_check,
    migrate,
    migrate_lint,
    recount,
    seed,
    serve,
    users,
)
from conduit.cli.apps import root
from conduit.cli.runner import state


@root.callback()
def _options(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks instead of one-line errors."
    ),
) -> None:
    state.debug = debug or os.environ.get("CONDUIT_DEBUG") == "1"


def main() -> None:
    root()
