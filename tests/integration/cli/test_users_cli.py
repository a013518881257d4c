"""`conduit users promote` through the real command line, on throwaway databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from conduit.db.session import Database
from conduit.domain.profiles.models import Profile
from conduit.domain.users.models import User
from tests.conftest import make_settings
from tests.factories import PASSWORD_HASH
from tests.integration.cli.support import conduit, one_error_line
from tests.scratch import Scratch


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def head_url(
    request: pytest.FixtureRequest, scratch_databases: Scratch
) -> AsyncIterator[str]:
    """A database of each dialect migrated to head, shared by this module's tests."""
    async with scratch_databases.url(request.param, prefix="conduit_cli") as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env


async def _with_database(url: str, username: str, *, create: bool) -> str | None:
    database = Database.from_config(make_settings(url).database)
    try:
        async with database.unit_of_work() as session:
            if create:
                user = User(
                    username=username, email=f"{username}@example.com", password_hash=PASSWORD_HASH
                )
                session.add(user)
                await session.flush()
                session.add(Profile(user_id=user.id))
            query = select(User.role).where(User.username == username)
            return (await session.execute(query)).scalar_one_or_none()
    finally:
        await database.dispose()


# The tests are synchronous (the command runs its own event loop), so they set up and read the
# database with an event loop of their own too.
def add_user(url: str, username: str) -> None:
    asyncio.run(_with_database(url, username, create=True))


def role_of(url: str, username: str) -> str | None:
    return asyncio.run(_with_database(url, username, create=False))


def test_promote_gives_the_role_and_says_so_in_one_line(head_url: str) -> None:
    add_user(head_url, "alice")
    result = conduit(head_url, "users", "promote", "alice", "--role", "admin")
    assert result.exit_code == 0, result.output
    assert result.stdout == "alice is now admin (was user)\n"
    assert result.stderr == ""
    assert role_of(head_url, "alice") == "admin"


def test_promoting_to_the_role_already_held_changes_nothing(head_url: str) -> None:
    add_user(head_url, "mod")
    assert conduit(head_url, "users", "promote", "mod", "--role", "moderator").exit_code == 0
    result = conduit(head_url, "users", "promote", "mod", "--role", "moderator")
    assert result.exit_code == 0, result.output
    assert result.stdout == "mod is already moderator\n"
    assert role_of(head_url, "mod") == "moderator"


def test_role_user_takes_a_role_away(head_url: str) -> None:
    add_user(head_url, "former")
    conduit(head_url, "users", "promote", "former", "--role", "admin")
    result = conduit(head_url, "users", "promote", "former", "--role", "user")
    assert result.exit_code == 0, result.output
    assert result.stdout == "former is now user (was admin)\n"
    assert role_of(head_url, "former") == "user"


def test_an_unknown_user_fails_with_one_line_and_exit_1(head_url: str) -> None:
    add_user(head_url, "Carol")
    result = conduit(head_url, "users", "promote", "carol", "--role", "admin")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert one_error_line(result) == (
        "error: no user is named 'carol' (hint: usernames are case-sensitive; check the spelling)"
    )
    assert role_of(head_url, "Carol") == "user"


@pytest.mark.parametrize(
    ("username", "args"),
    [("dave", ["--role", "root"]), ("erin", ["--role", ""]), ("frank", [])],
    ids=["unknown", "empty", "missing"],
)
def test_a_role_that_is_not_one_of_the_three_is_a_usage_error_exit_2(
    head_url: str, username: str, args: list[str]
) -> None:
    add_user(head_url, username)
    result = conduit(head_url, "users", "promote", username, *args)
    assert result.exit_code == 2, result.output
    assert "--role" in result.stderr
    assert role_of(head_url, username) == "user"


def test_promote_on_a_database_without_the_schema_fails_with_one_line(tmp_path: Path) -> None:
    result = conduit(
        f"sqlite:///{tmp_path / 'empty.db'}", "users", "promote", "x", "--role", "admin"
    )
    assert result.exit_code == 1
    assert "users" in one_error_line(result)
