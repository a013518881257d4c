"""Conduit's own Alembic migrations and their squawk rules, shipped inside the package.

Found with :mod:`importlib.resources`, so a wheel-installed Conduit migrates its database just
as a checkout does. ``env.py`` is Alembic's entry point, not a module to import.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def location() -> Path:
    """The migrations folder (``env.py``, ``script.py.mako``, ``versions/``)."""
    folder = files(__name__)
    # Alembic reads and writes revision files by path: the package must be installed as files
    # (any pip or editable install is), not imported from a zip archive.
    if not isinstance(folder, Path):
        raise RuntimeError(f"{__name__} is not on the file system: {folder}")
    return folder


def squawk_config() -> Path:
    """The squawk rules ``conduit migrate lint`` checks revisions against."""
    return location() / "squawk.toml"
