"""Running a command: settings, the event loop, and errors mapped to exit codes once.

Exit codes: 0 success, 1 failure (one line on stderr: the cause, then a hint), 2 usage.
``--debug`` (or ``CONDUIT_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from conduit.db import errors as db_errors
from conduit.db.migrations import DriftDetected, MigrationError, UnregisteredModels
from conduit.settings import Settings, SettingsError, load_settings

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandFailed(Exception):
    """A command's own failure: ``message`` and an optional ``hint`` become one line, exit 1."""

    def __init__(self, message: str, *, hint: str | None = None, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


class _State:
    debug = False


state = _State()


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc), hint="fix the variable in the environment or in .env")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``; translate every known error into one stderr line and an exit code."""
    existing = set(threading.enumerate())
    with handled(), asyncio.Runner() as runner:
        try:
            return runner.run(coro)
        finally:
            _drain_sqlite_threads(started_after=existing)


def _drain_sqlite_threads(*, started_after: set[threading.Thread], timeout: float = 1.0) -> None:
    """Let the aiosqlite worker threads this run started finish while its event loop exists.

    A failed ``aiosqlite.connect()`` queues a stop whose result the worker posts to the loop
    later; if ``asyncio.run`` has closed the loop by then, the thread prints a traceback.
    """
    deadline = time.monotonic() + timeout
    for thread in set(threading.enumerate()) - started_after:
        if "_connection_worker_thread" in thread.name:
            thread.join(max(0.0, deadline - time.monotonic()))


@contextmanager
def handled() -> Iterator[None]:
    """Translate every known error raised in the block (sync code too) as :func:`run` does."""
    try:
        yield
    except CommandFailed as exc:
        if state.debug:
            raise
        fail(exc.message, hint=exc.hint, code=exc.code)
    except db_errors.DatabaseError as exc:
        if state.debug:
            raise
        message, hint = describe(exc)
        fail(message, hint=hint)


def describe(exc: db_errors.DatabaseError) -> tuple[str, str | None]:
    """The one-line cause and hint for a database error."""
    if isinstance(exc, DriftDetected):
        return (
            f"the models and the migrations differ: {exc.message}",
            'run `conduit migrate create "describe the change"` and review the new revision',
        )
    if isinstance(exc, UnregisteredModels):
        return (
            exc.message,
            "a model is compared and migrated only once the models module imports it",
        )
    if isinstance(exc, MigrationError):
        return exc.message, "see `conduit migrate history`"
    if isinstance(exc, db_errors.Unavailable):
        return exc.message, "is the database running, and is DATABASE_URL right?"
    if isinstance(exc, db_errors.Busy):
        return exc.message, (
            "the database is busy (a lock held, or a long statement): try again, or raise "
            "DB_LOCK_TIMEOUT_MS or DB_STATEMENT_TIMEOUT_MS for this command"
        )
    return exc.message, None


def fail(message: str, *, hint: str | None = None, code: int = EXIT_FAILURE) -> NoReturn:
    line = f"error: {message}"
    if hint:
        line += f" (hint: {hint})"
    err_console.print(line, markup=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
