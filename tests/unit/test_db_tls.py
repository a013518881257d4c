"""Which sslmode Conduit connects to a PostgreSQL server with."""

from __future__ import annotations

import pytest

from conduit.db import tls
from conduit.db.url import parse


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@127.0.0.1/app",
        "postgresql://u@127.0.0.2:6432/app",
        "postgresql://u@localhost/app",
        "postgresql://u@[::1]:5432/app",
        "postgresql:///app",  # the local Unix socket
        "postgresql:///app?host=/var/run/postgresql",
        "postgresql://u@localhost:5432,127.0.0.1:5433/app",
    ],
)
def test_a_server_on_this_host_is_connected_to_without_tls(url: str) -> None:
    assert tls.mode_for(parse(url), setting=None) == "disable"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@db.internal/app",
        "postgresql://u@10.0.0.5/app",
        "postgresql://u@[2001:db8::1]:5432/app",
        # One remote host is enough to ask for TLS on all of them.
        "postgresql://u@127.0.0.1:5432,db.internal:5432/app",
    ],
)
def test_a_remote_server_is_asked_for_tls(url: str) -> None:
    assert tls.mode_for(parse(url), setting=None) == "prefer"


def test_the_url_says_which_mode_in_libpqs_or_asyncpgs_spelling() -> None:
    assert tls.mode_for(parse("postgresql://u@localhost/app?sslmode=require"), setting=None) == (
        "require"
    )
    assert tls.mode_for(parse("postgresql://u@db.internal/app?ssl=disable"), setting=None) == (
        "disable"
    )


def test_the_setting_wins_over_the_url_and_the_host() -> None:
    url = parse("postgresql://u@localhost/app?sslmode=disable")
    assert tls.mode_for(url, setting="verify-full") == "verify-full"


def test_the_driver_gets_the_url_without_its_mode() -> None:
    url = parse("postgresql://u@db.internal/app?sslmode=require&target_session_attrs=read-write")
    assert dict(tls.without_mode(url).query) == {"target_session_attrs": "read-write"}


def test_an_unknown_mode_names_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="one of disable, allow, prefer, require"):
        tls.url_mode(parse("postgresql://u@db/app?sslmode=true"))
