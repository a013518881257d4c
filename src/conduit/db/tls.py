"""TLS to PostgreSQL: one ``sslmode`` per server, decided once, handed to asyncpg explicitly.

libpq's modes (``disable``, ``allow``, ``prefer``, ``require``, ``verify-ca``, ``verify-full``)
mean what they mean to libpq. The mode of a server is ``DATABASE_SSLMODE`` when set, else the
``sslmode`` (or asyncpg's ``ssl``) query parameter of its URL, else ``disable`` for a server on
the loopback interface or a Unix socket and ``prefer`` for any other. ``prefer`` asks the server
for TLS on every new connection (a round trip, and a TLS handshake when it accepts): worth it
over a network, pure cost on the same host.
"""

from __future__ import annotations

import ipaddress
from typing import Literal, cast, get_args

from sqlalchemy.engine import URL

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
SSL_MODES: tuple[str, ...] = get_args(SslMode)
# The query parameters that carry a mode: libpq's spelling and asyncpg's.
_QUERY_KEYS = ("sslmode", "ssl")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def parse_mode(value: str) -> SslMode:
    """``value`` as a mode; ValueError naming the accepted ones if it is not one."""
    if value in SSL_MODES:
        return cast("SslMode", value)
    raise ValueError(f"{value!r} is not an sslmode (one of {', '.join(SSL_MODES)})")


def url_mode(url: URL) -> SslMode | None:
    """The mode the URL's query names, if it names one (ValueError if it names a wrong one)."""
    for key in _QUERY_KEYS:
        value = url.query.get(key)
        if value is not None:
            return parse_mode(value if isinstance(value, str) else value[-1])
    return None


def mode_for(url: URL, *, setting: SslMode | None) -> SslMode:
    """The mode to connect to ``url`` with: the setting, else the URL's, else by host."""
    if setting is not None:
        return setting
    given = url_mode(url)
    if given is not None:
        return given
    return "disable" if all(_is_local(host) for host in _hosts(url)) else "prefer"


def without_mode(url: URL) -> URL:
    """``url`` without its mode parameters: asyncpg takes the mode as an argument instead."""
    return url.difference_update_query(_QUERY_KEYS)


def for_asyncpg(url: URL, *, setting: SslMode | None) -> tuple[URL, SslMode]:
    """``url`` as asyncpg's engine takes it (without its mode), and the mode to pass it."""
    return without_mode(url), mode_for(url, setting=setting)


def _hosts(url: URL) -> list[str]:
    """The host names of ``url``: its host, or each ``host=`` of a multi-host URL."""
    listed = url.query.get("host")
    if listed is None:
        # No host: asyncpg connects to the local Unix socket (or PGHOST, by libpq's rules).
        return [url.host or ""]
    hosts = [listed] if isinstance(listed, str) else list(listed)
    return [_strip_port(host) for host in hosts]


def _strip_port(host: str) -> str:
    if host.startswith("["):  # [::1]:5432
        return host[1:].partition("]")[0]
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() and ":" not in name else host


def _is_local(host: str) -> bool:
    if host == "" or host.startswith("/"):  # a Unix socket: TLS is never negotiated on one
        return True
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
