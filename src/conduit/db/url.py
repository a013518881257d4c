"""Normalise database URLs: one accepted spelling in, the async and sync forms out.

``postgres://``, ``postgresql://``, ``postgresql+psycopg://`` and ``postgresql+asyncpg://`` all
become ``postgresql+asyncpg://`` for the application; ``sqlite://`` becomes
``sqlite+aiosqlite://``; ``mysql://``, ``mysql+aiomysql://``, ``mysql+pymysql://`` and
``mariadb://`` become ``mysql+aiomysql://`` (one dialect for MySQL and MariaDB: SQLAlchemy tells
them apart from the server's version). A PostgreSQL URL may list several hosts as libpq does
(``postgresql://h1:5432,h2:5432/db?target_session_attrs=read-write``, tried in turn); they become
the ``?host=h1:5432&host=h2:5432`` form SQLAlchemy's drivers take. Passwords never reach a log
line or an error message: use :func:`mask`, and :class:`InvalidDatabaseURL` messages never quote
the URL they reject.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ASYNC_DRIVERS = {"postgresql": "asyncpg", "sqlite": "aiosqlite", "mysql": "aiomysql"}
SYNC_DRIVERS = {"postgresql": "psycopg", "sqlite": "pysqlite", "mysql": "pymysql"}
_BACKEND_ALIASES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
}
# RFC 3986 scheme syntax; anything else before "://" is not a scheme (and may hold a secret).
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
# Query parameters that drivers accept as credentials: masked like the password itself.
_SECRET_QUERY_KEYS = frozenset({"password", "passfile", "sslpassword", "passwd"})
MASK = "***"
DEFAULT_PG_PORT = 5432


class InvalidDatabaseURL(ValueError):
    """The URL cannot be used; the message says why and never contains the password."""


def parse(raw: str) -> URL:
    """Parse ``raw`` into the async URL the application uses."""
    text = raw.strip()
    if not text:
        raise InvalidDatabaseURL("is empty")
    scheme, separator, rest = text.partition("://")
    if not separator or not _SCHEME.match(scheme):
        raise InvalidDatabaseURL("is not a URL (expected e.g. postgresql://user@host/dbname)")
    backend = _BACKEND_ALIASES.get(scheme.partition("+")[0].lower())
    if backend is None:
        raise InvalidDatabaseURL(
            f"has unsupported scheme {scheme!r} (use postgresql://, mysql:// or sqlite:///)"
        )
    if backend == "postgresql":
        rest = _hosts_to_query(rest)
    try:
        url = make_url(f"{backend}://{rest}")
    except (ArgumentError, ValueError) as exc:
        # The parser's own message may quote any part of the URL, the password included.
        if "int()" in str(exc):
            raise InvalidDatabaseURL("has a port that is not a number") from None
        raise InvalidDatabaseURL(
            "cannot be parsed (expected e.g. postgresql://user:password@host:5432/dbname)"
        ) from None
    if url.port is not None and not 0 < url.port < 65536:
        raise InvalidDatabaseURL(f"has port {url.port}, outside 1-65535")
    if backend == "postgresql" and not url.database:
        raise InvalidDatabaseURL("names no database (expected postgresql://user@host/dbname)")
    if backend == "mysql" and not url.database:
        raise InvalidDatabaseURL("names no database (expected mysql://user@host/dbname)")
    if backend == "sqlite" and (url.host or url.username or url.password):
        raise InvalidDatabaseURL(
            "has a host part; a SQLite URL is sqlite:///relative/path.db or sqlite:////abs/path.db"
        )
    return to_async(url)


def _hosts_to_query(rest: str) -> str:
    """``user@h1:p1,h2:p2/db?q`` as ``user@/db?host=h1:p1&host=h2:p2&q`` (one host: unchanged).

    A host without a port gets PostgreSQL's 5432, as libpq gives it: the drivers need each.
    """
    authority, _slash, path = rest.partition("/")
    userinfo, at, hostlist = authority.rpartition("@")
    if "," not in hostlist:
        return rest
    hosts = []
    for host in hostlist.split(","):
        if not host:
            raise InvalidDatabaseURL("has an empty host in its host list")
        name, colon, port = host.rpartition(":") if not host.endswith("]") else ("", "", "")
        if not colon:
            name, port = host, str(DEFAULT_PG_PORT)
        if not port.isdigit():
            raise InvalidDatabaseURL("has a port that is not a number")
        if not 0 < int(port) < 65536:
            raise InvalidDatabaseURL(f"has port {port}, outside 1-65535")
        hosts.append(f"host={name}:{port}")
    database, _question, query = path.partition("?")
    joined = "&".join([*hosts, query] if query else hosts)
    return f"{userinfo}{at}/{database}?{joined}"


def to_async(url: URL | str) -> URL:
    """The same database with the application's async driver."""
    return _with_driver(url, ASYNC_DRIVERS)


def to_sync(url: URL | str) -> URL:
    """The same database with a synchronous driver, for tools that want one."""
    return _with_driver(url, SYNC_DRIVERS)


def mask(url: URL | str) -> str:
    """Render ``url`` with its password (and any credential query parameter) as ``***``."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except (ArgumentError, ValueError):
            return "<unparseable URL>"
    secret_keys = _SECRET_QUERY_KEYS.intersection(url.query)
    if secret_keys:
        url = url.update_query_dict(dict.fromkeys(secret_keys, MASK))
    # render_as_string escapes the query's "***"; put it back as the password's mask reads.
    return url.render_as_string(hide_password=True).replace("%2A%2A%2A", MASK)


def _with_driver(url: URL | str, drivers: dict[str, str]) -> URL:
    if isinstance(url, str):
        url = parse(url)
    backend = _BACKEND_ALIASES.get(url.get_backend_name())
    if backend is None:
        raise InvalidDatabaseURL(f"has unsupported backend {url.get_backend_name()!r}")
    return url.set(drivername=f"{backend}+{drivers[backend]}")
