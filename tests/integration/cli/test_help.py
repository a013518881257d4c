"""Every command's ``--help`` says what it does, and shows flags as flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from conduit.cli.apps import root
from tests.integration.cli.support import conduit


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group of the tree (Typer's own Click types), with the words to run it."""
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(path: tuple[str, ...], command: Any) -> None:
        found.append((path, command))
        for name, child in getattr(command, "commands", {}).items():
            walk((*path, name), child)

    walk((), typer.main.get_command(root))
    return found


COMMANDS = _commands()


def test_the_tree_has_every_command() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"serve", "migrate upgrade", "migrate lint", "db seed", "db check"} <= paths
    assert len(paths) >= 18


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) or "conduit" for path, _ in COMMANDS]
)
def test_help_describes_the_command_and_shows_flags_as_flags(
    path: tuple[str, ...], command: Any
) -> None:
    result = conduit(None, *path, "--help")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    summary = (command.help or "").strip().splitlines()[0] if command.help else ""
    assert len(summary.split()) >= 3, f"{path}: no description"
    assert summary.split()[0] in result.output
    for param in command.params:
        if param.param_type_name == "option":
            assert param.help, f"{path}: {param.opts} has no help"
            if param.is_flag:
                # A flag is listed bare, its help right after it: nothing that reads as a value.
                listed = (line.split() for line in result.output.splitlines())
                words = next(words for words in listed if words[:1] == [param.opts[0]])
                assert words[1:2] == [param.help.split()[0]], words


def test_help_texts_keep_their_bracketed_defaults() -> None:
    # "[default: 3 per article]" is part of the help text, not markup to drop.
    output = conduit(None, "db", "seed", "--help").output
    assert "[default: 3 per article]" in output


def test_the_installed_command_prints_flags_as_flags() -> None:
    executable = Path(sys.executable).parent / "conduit"
    result = subprocess.run(
        [executable, "db", "seed", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"COLUMNS": "100", "PATH": str(executable.parent)},
    )
    assert "<bool>" not in result.stdout
    assert "--reset " in result.stdout
    assert "Empty every table first." in result.stdout


def _flat(text: str) -> str:
    """``text`` with every run of whitespace made one space: help is compared, not its wrapping."""
    return " ".join(text.split())


def _help_page(path: tuple[str, ...]) -> str:
    """``conduit PATH --help`` as printed by the real command tree, wide enough not to wrap."""
    result = CliRunner().invoke(
        root, [*path, "--help"], terminal_width=1000, max_content_width=1000
    )
    assert result.exit_code == 0, result.output
    return _flat(result.output)


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) or "conduit" for path, _ in COMMANDS]
)
def test_help_prints_the_whole_description_and_every_parameters_help(
    path: tuple[str, ...], command: Any
) -> None:
    page = _help_page(path)
    assert command.help, f"conduit {' '.join(path)} has no description"
    assert _flat(command.help) in page
    for param in command.params:
        if param.name == "help":
            continue
        # Options and arguments alike: Typer keeps an argument's help on the parameter too.
        text = getattr(param, "help", None) or ""
        assert len(text.split()) >= 2, f"conduit {' '.join(path)}: {param.name} has no help"
        assert _flat(text) in page, f"conduit {' '.join(path)}: {param.name}"


@pytest.mark.parametrize(
    ("path", "group"),
    [(path, command) for path, command in COMMANDS if getattr(command, "commands", None)],
    ids=lambda value: " ".join(value) or "conduit" if isinstance(value, tuple) else "",
)
def test_a_groups_help_lists_each_command_with_what_it_does(
    path: tuple[str, ...], group: Any
) -> None:
    page = _help_page(path)
    for name, child in group.commands.items():
        assert f"{name} {_flat(child.get_short_help_str(limit=1000))}" in page
