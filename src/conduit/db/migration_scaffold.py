"""``conduit migrate init``: an async Alembic environment for any project's models.

The folder it writes holds an ``alembic.ini`` (``script_location`` is the folder itself), an
``env.py`` that hands the project's models module to :func:`conduit.db.migration_env.run` and
reads ``DATABASE_URL``, Conduit's own revision template (timeouts first, imports rendered,
formatted by ruff), an empty ``versions/`` and a ``migrate.sh``. ``conduit migrate --config
DIR/alembic.ini ...`` then works on it, and so does the plain ``alembic -c DIR/alembic.ini``.
"""

from __future__ import annotations

import importlib
import re
import shutil
import stat
import sys
from pathlib import Path

from conduit.db.migration_env import metadata_of
from conduit.db.migrations import FILE_TEMPLATE, MigrationError

_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")

ALEMBIC_INI = """\
# Alembic configuration written by `conduit migrate init`. Use it with
#   conduit migrate --config {ini} VERB   (or CONDUIT_ALEMBIC_CONFIG={ini})
# or with the plain `alembic -c {ini}` command. The database is DATABASE_URL's.
[alembic]
script_location = %(here)s
file_template = {file_template}
timezone = UTC
path_separator = os
# The project's root (where `{models}` is importable from) is the working directory.
prepend_sys_path = .

# For the plain alembic command (`conduit migrate create` formats with ruff by itself).
[post_write_hooks]
hooks = ruff_fix, ruff_format
ruff_fix.type = module
ruff_fix.module = ruff
ruff_fix.options = check --fix --unfixable F401 --exit-zero --quiet REVISION_SCRIPT_FILENAME
ruff_format.type = module
ruff_format.module = ruff
ruff_format.options = format --quiet REVISION_SCRIPT_FILENAME
"""

ENV_PY = '''\
"""Alembic environment for the models of ``{models}``: async, DATABASE_URL, batch mode on SQLite.

Written by ``conduit migrate init``; run through ``conduit migrate --config`` or ``alembic -c``.
Every model must be imported by ``{models}``: ``conduit migrate check`` fails on one that is not.
"""

from __future__ import annotations

import os

from conduit.db import url as db_url
from conduit.db.config import DatabaseConfig
from conduit.db.migration_env import run

import {models} as models


def _database() -> DatabaseConfig:
    raw = os.environ.get("DATABASE_URL")
    if not raw:
        raise RuntimeError("DATABASE_URL is not set")
    return DatabaseConfig(url=db_url.parse(raw))


run(models, database=_database)
'''

MIGRATE_SH = """\
#!/usr/bin/env bash
# Thin wrapper over `conduit migrate` for these migrations: ./migrate.sh VERB [args]
# (create "message", upgrade, downgrade, current, history, check, sql, lint; see --help).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec conduit migrate --config "$here/alembic.ini" "$@"
"""


def scaffold(directory: Path, *, models: str, template: Path) -> list[Path]:
    """Write the environment into ``directory`` (new or empty); the files written.

    ``models`` must import from the working directory and expose one model metadata
    (a ``metadata`` attribute, or a declarative ``Base``).
    """
    if not _MODULE.match(models):
        raise MigrationError(f"--models {models!r} is not a dotted module name")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise MigrationError(f"{directory} already exists and is not an empty folder")
    _check_models(models)
    written = {
        directory / "alembic.ini": ALEMBIC_INI.format(
            ini=directory / "alembic.ini", models=models, file_template=FILE_TEMPLATE
        ),
        directory / "env.py": ENV_PY.format(models=models),
        directory / "migrate.sh": MIGRATE_SH,
    }
    (directory / "versions").mkdir(parents=True)
    for path, text in written.items():
        path.write_text(text)
    script = directory / "migrate.sh"
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    shutil.copyfile(template, directory / "script.py.mako")
    return [*written, directory / "script.py.mako", directory / "versions"]


def _check_models(models: str) -> None:
    """Import ``models`` as env.py will (from the working directory) and find its metadata."""
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(models)
    except ImportError as exc:
        raise MigrationError(
            f"cannot import {models} from {Path.cwd()}: {exc} "
            "(run from the project's root, where the package is importable)"
        ) from None
    metadata_of(module)
