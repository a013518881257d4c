"""docs/architecture.md names every module under src/conduit, and only modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

import conduit

PACKAGE = Path(conduit.__file__).parent
DOC = PACKAGE.parents[1] / "docs" / "architecture.md"

# "### The database toolkit (`conduit.db`)": the tables below it name modules of that package.
_SECTION = re.compile(r"^### [^`\n]*`conduit(?:\.(?P<package>\w+))?`", re.MULTILINE)
_FIRST_CELL = re.compile(r"^\| (?P<cell>[^|]+) \|", re.MULTILINE)
_NAME = re.compile(r"`([\w/*.]+\.py)`")


def documented() -> set[Path]:
    """The modules the tables of "## Modules" name, as paths under src/conduit."""
    modules = DOC.read_text().split("\n## Modules\n", 1)[1].split("\n## ", 1)[0]
    sections = list(_SECTION.finditer(modules))
    found: set[Path] = set()
    for section, following in zip(sections, [*sections[1:], None], strict=True):
        package = PACKAGE / (section["package"] or "")
        body = modules[section.end() : following.start() if following else None]
        for row in _FIRST_CELL.finditer(body):
            for name in _NAME.findall(row["cell"]):
                matches = sorted(package.glob(name))
                found.update(matches or [package / name])
    return found


def in_the_package() -> set[Path]:
    return set(PACKAGE.rglob("*.py"))


def test_every_module_is_in_the_architecture_map() -> None:
    missing = sorted(str(path.relative_to(PACKAGE)) for path in in_the_package() - documented())
    assert not missing, f"docs/architecture.md, ## Modules, names none of: {', '.join(missing)}"


def test_the_architecture_map_names_no_module_that_does_not_exist() -> None:
    stale = sorted(str(path.relative_to(PACKAGE)) for path in documented() - in_the_package())
    assert not stale, f"docs/architecture.md, ## Modules, names missing modules: {', '.join(stale)}"


def test_the_map_refers_to_nothing_outside_the_repository() -> None:
    assert "../" not in DOC.read_text()
