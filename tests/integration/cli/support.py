"""Running the real ``conduit`` command tree in-process, and reading what it printed."""

from __future__ import annotations

from sqlalchemy.engine import URL
from typer.testing import CliRunner, Result

from conduit.cli import main as _main  # noqa: F401 - registers every verb on the command tree
from conduit.cli.apps import root


def conduit(url: str | URL | None, *args: str, **env: str) -> Result:
    """``conduit ARGS`` with ``DATABASE_URL=url`` (wide output, so tables do not wrap)."""
    environment = {"COLUMNS": "200", **env}
    if url is not None:
        environment["DATABASE_URL"] = (
            url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        )
    return CliRunner().invoke(root, list(args), env=environment)


def one_error_line(result: Result) -> str:
    """The single ``error: ...`` line a failing command prints (and no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]
