"""Normalise database URLs: one accepted spelling in, the async and sync forms out.

``postgres://``, ``postgresql://``, ``postgresql+psycopg://`` and ``postgresql+asyncpg://`` all
become ``postgresql+asyncpg://`` for the application; ``sqlite://`` becomes
``sqlite+aiosqlite://``. Passwords never reach a log line or an error message: use :func:`mask`.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ASYNC_DRIVERS = {"postgresql": "asyncpg", "sqlite": "aiosqlite"}
SYNC_DRIVERS = {"postgresql": "psycopg", "sqlite": "pysqlite"}
_BACKEND_ALIASES = {"postgres": "postgresql", "postgresql": "postgresql", "sqlite": "sqlite"}


class InvalidDatabaseURL(ValueError):
    """The URL cannot be used; the message says why and never contains the password."""


def parse(raw: str) -> URL:
    """Parse ``raw`` into the async URL the application uses."""
    text = raw.strip()
    if not text:
        raise InvalidDatabaseURL("is empty")
    if "://" not in text:
        raise InvalidDatabaseURL("is not a URL (expected e.g. postgresql://user@host/dbname)")
    scheme = text.split("://", 1)[0]
    backend_name, _, _driver = scheme.partition("+")
    backend = _BACKEND_ALIASES.get(backend_name.lower())
    if backend is None:
        raise InvalidDatabaseURL(
            f"has unsupported scheme {scheme!r} (use postgresql:// or sqlite:///)"
        )
    try:
        url = make_url(f"{backend}://{text.split('://', 1)[1]}")
    except (ArgumentError, ValueError) as exc:
        raise InvalidDatabaseURL(f"cannot be parsed: {_scrub(str(exc), text)}") from None
    if url.port is not None and not 0 < url.port < 65536:
        raise InvalidDatabaseURL(f"has port {url.port}, outside 1-65535")
    if backend == "postgresql" and not url.database:
        raise InvalidDatabaseURL("names no database (expected postgresql://user@host/dbname)")
    if backend == "sqlite" and url.host:
        raise InvalidDatabaseURL(
            "has a host part; a SQLite URL is sqlite:///relative/path.db or sqlite:////abs/path.db"
        )
    return to_async(url)


def to_async(url: URL) -> URL:
    """The same database with the application's async driver."""
    return url.set(drivername=f"{url.get_backend_name()}+{ASYNC_DRIVERS[url.get_backend_name()]}")


def to_sync(url: URL) -> URL:
    """The same database with a synchronous driver, for tools that want one."""
    return url.set(drivername=f"{url.get_backend_name()}+{SYNC_DRIVERS[url.get_backend_name()]}")


def mask(url: URL | str) -> str:
    """Render ``url`` with its password replaced by ``***``."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except (ArgumentError, ValueError):
            return "<unparseable URL>"
    return url.render_as_string(hide_password=True)


def _scrub(message: str, raw: str) -> str:
    """Remove anything that looks like the password of ``raw`` from ``message``."""
    netloc = raw.split("://", 1)[1].split("/", 1)[0]
    if "@" in netloc and ":" in netloc.split("@", 1)[0]:
        password = netloc.split("@", 1)[0].split(":", 1)[1]
        if password:
            message = message.replace(password, "***")
    return message
