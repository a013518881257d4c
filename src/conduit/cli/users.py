"""The `conduit users` verbs: account administration that the API deliberately cannot do.

Roles are given here and nowhere else. No endpoint accepts a role, so making an admin takes
access to the server's own database settings, never just a token, not even an admin's.
"""

from __future__ import annotations

from typing import Annotated

import typer

from conduit.cli.apps import users_app
from conduit.cli.runner import CommandFailed, console, run, settings
from conduit.db.session import Database
from conduit.domain.errors import NotFoundError
from conduit.domain.users import service as users
from conduit.domain.users.models import Role
from conduit.settings import Settings


@users_app.command("promote")
def promote(
    username: Annotated[str, typer.Argument(help="The account's username (case-sensitive).")],
    role: Annotated[
        Role,
        typer.Option("--role", help="The role to give the account.", show_default=False),
    ],
) -> None:
    """Give an account a role: admin, moderator, or user (which takes the others away)."""
    previous = run(_set_role(settings(), username=username, role=role))
    if previous == role:
        line = f"{username} is already {role.value}"
    else:
        line = f"{username} is now {role.value} (was {previous})"
    console.print(line, markup=False, highlight=False)


async def _set_role(config: Settings, *, username: str, role: Role) -> str:
    """Set the role of ``username`` and return the one it had; CommandFailed if unknown."""
    database = Database.from_config(config.database)
    try:
        async with database.unit_of_work() as session:
            return await users.set_role(session, username=username, role=role)
    except NotFoundError:
        raise CommandFailed(
            f"no user is named {username!r}",
            hint="usernames are case-sensitive; check the spelling",
        ) from None
    finally:
        await database.dispose()
