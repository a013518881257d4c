"""The wheel: built from the checkout, installed in a fresh virtualenv, it migrates and serves.

The virtualenv gets the pinned runtime dependencies (requirements.txt, with hashes) and then the
wheel itself, so nothing of the checkout is importable there: the migrations and squawk rules
must come from inside the package. ``conduit serve`` against an empty database then applies
every migration and answers ``/health/ready`` and ``/api/tags``, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from tests.conftest import MIGRATIONS_DIR, PROJECT_ROOT
from tests.integration.cli.test_serve_process import GRACEFUL, Server, free_port

INSTALL_TIMEOUT_SECONDS = 600


def _run(*args: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``conduit`` executable of a fresh virtualenv holding only the wheel and its deps."""
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "-w",
        dist,
        ".",
        cwd=PROJECT_ROOT,
    )
    [wheel] = dist.glob("conduit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("env.py", "script.py.mako", "squawk.toml"):
        assert f"conduit/migrations/{shipped}" in names
    assert any(n.startswith("conduit/migrations/versions/") and n.endswith(".py") for n in names)

    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=work)
    python = venv / "bin" / "python"
    _run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--require-hashes",
        "-r",
        PROJECT_ROOT / "requirements.txt",
        cwd=work,
    )
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", wheel, cwd=work)
    where = subprocess.run(
        [python, "-c", "import conduit.migrations as m; print(m.location())"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    return venv / "bin" / "conduit"


def test_the_installed_wheel_migrates_an_empty_database_and_serves(
    installed: Path, empty_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "MIGRATIONS_DIR", "VIRTUAL_ENV"}
    }
    env |= {"DATABASE_URL": empty_url, "SECRET_KEY": "s" * 40, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [str(installed), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,  # not the checkout: nothing there to find by accident
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(process, port)
    try:
        server.wait_healthy()
        ready = httpx.get(f"{server.base_url}/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        tags = httpx.get(f"{server.base_url}/api/tags", timeout=10)
        assert (tags.status_code, tags.json()) == (200, {"tags": []})
    finally:
        code, out, err = server.stop()
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert f"Migrated the database to {head}." in out, out + err
    assert code in GRACEFUL, err


def test_without_ruff_a_new_revision_is_written_unformatted_with_a_warning(
    installed: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        "PATH": f"{installed.parent}{os.pathsep}/usr/bin{os.pathsep}/bin",  # no ruff anywhere
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "MIGRATIONS_DIR": str(folder),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [str(installed), "migrate", "create", "add widgets", "--empty"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [created] = (folder / "versions").glob("*_add_widgets.py")
    assert f"Created {created}" in done.stdout
    assert done.stderr.strip() == (
        f"warning: ruff is not installed: {created.name} is not formatted (hint: pip install ruff)"
    )
