"""The import contracts (``lint-imports``, run by ``make lint``) catch what they forbid.

``make lint`` proves the code keeps them; this proves they bite: a copy of the package with one
forbidden import added, indirect or external, breaks the contract that forbids it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
DB_NEUTRAL = (
    "conduit.db is framework-neutral: no web, CLI or settings framework, no domain, no settings"
)
DOMAIN_NO_WEB = "conduit.domain knows no web framework"
LAYERS = "Layers: cli and http above domain above db"
SERVICE_NO_TOOLING = "The service (http, domain, db) never imports conduit.tooling"
DRIVERS = "Database drivers are conduit.db's alone"


def lint_imports(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contracts on a copy of ``conduit`` whose ``module``
    (a dotted name under ``conduit``) gains ``line``."""
    source = tmp_path / "src"
    shutil.copytree(
        PROJECT_ROOT / "src" / "conduit",
        source / "conduit",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    path = source.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text() + f"\n{line}\n")
    return subprocess.run(
        [
            str(LINT_IMPORTS),
            "--no-cache",
            "--no-logo",
            "--config",
            str(PROJECT_ROOT / "pyproject.toml"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(source)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("conduit.db.url", "import conduit.settings", DB_NEUTRAL),
        ("conduit.db.url", "import click", DB_NEUTRAL),
        ("conduit.domain.tags.service", "import starlette", DOMAIN_NO_WEB),
        ("conduit.domain.tags.service", "import conduit.http.app", LAYERS),
        ("conduit.db.url", "import conduit.tooling.seed", SERVICE_NO_TOOLING),
        ("conduit.domain.tags.service", "import asyncpg", DRIVERS),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    result = lint_imports(tmp_path, module, line)
    assert result.returncode == 1, result.stdout + result.stderr
    # The report wraps long contract names: compare with the line breaks undone.
    assert f"{broken} BROKEN" in " ".join(result.stdout.split()), result.stdout


def test_the_package_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_imports(tmp_path, "conduit.db.url", "")
    assert result.returncode == 0, result.stdout + result.stderr
    report = " ".join(result.stdout.split())
    for contract in (DB_NEUTRAL, DOMAIN_NO_WEB, LAYERS, SERVICE_NO_TOOLING, DRIVERS):
        assert f"{contract} KEPT" in report
