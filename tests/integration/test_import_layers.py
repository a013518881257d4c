"""Imports point one way: cli, http -> domain -> db; db is framework-neutral.

Checked on the real import graph (grimp, the engine of import-linter), TYPE_CHECKING imports
included and indirect chains too: ``conduit.db`` importing a module that imports FastAPI breaks
the rule as surely as importing FastAPI itself.
"""

from __future__ import annotations

import grimp
import pytest

# Web, CLI and settings frameworks: the toolkit takes plain config objects instead.
FRAMEWORKS = (
    "fastapi",
    "fastapi_offline",
    "starlette",
    "uvicorn",
    "typer",
    "rich",
    "click",
    "pydantic",
    "pydantic_settings",
)
DB_FORBIDDEN = (
    "conduit.domain",
    "conduit.http",
    "conduit.cli",
    "conduit.settings",
    *FRAMEWORKS,
)
DOMAIN_FORBIDDEN = ("conduit.http", "conduit.cli", "fastapi", "starlette")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("conduit", include_external_packages=True)


def chains(graph: grimp.ImportGraph, importer: str, imported: str) -> list[str]:
    if imported not in graph.modules:
        return []
    found = graph.find_shortest_chains(importer=importer, imported=imported, as_packages=True)
    return [" -> ".join(chain) for chain in sorted(found)]


@pytest.mark.parametrize("imported", DB_FORBIDDEN)
def test_the_db_toolkit_does_not_import(graph: grimp.ImportGraph, imported: str) -> None:
    assert chains(graph, "conduit.db", imported) == []


@pytest.mark.parametrize("imported", DOMAIN_FORBIDDEN)
def test_the_domain_does_not_import(graph: grimp.ImportGraph, imported: str) -> None:
    assert chains(graph, "conduit.domain", imported) == []


def test_the_checks_would_see_a_forbidden_import(graph: grimp.ImportGraph) -> None:
    # The graph does hold the edges these tests forbid elsewhere, so an empty answer means
    # "no such import", not "the graph missed it".
    assert chains(graph, "conduit.http", "fastapi")
    assert chains(graph, "conduit.http", "conduit.db")
    assert chains(graph, "conduit.domain", "conduit.db")
