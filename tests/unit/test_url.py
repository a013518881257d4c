"""DATABASE_URL normalisation: every accepted spelling, both driver directions, the refusals."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from conduit.db.url import InvalidDatabaseURL, mask, parse, to_async, to_sync

PASSWORD = "hunter2-s3cret"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "postgres://app:pw@db.internal/conduit",
            "postgresql+asyncpg://app:pw@db.internal/conduit",
        ),
        (
            "postgresql://app:pw@db.internal:6432/conduit",
            "postgresql+asyncpg://app:pw@db.internal:6432/conduit",
        ),
        (
            "postgresql+asyncpg://app@localhost/conduit",
            "postgresql+asyncpg://app@localhost/conduit",
        ),
        (
            "postgresql+psycopg://app@localhost/conduit",
            "postgresql+asyncpg://app@localhost/conduit",
        ),
        ("POSTGRES://app@localhost/conduit", "postgresql+asyncpg://app@localhost/conduit"),
        (
            "postgresql://app@localhost/conduit?sslmode=require",
            "postgresql+asyncpg://app@localhost/conduit?sslmode=require",
        ),
        ("  postgresql://app@localhost/conduit\n", "postgresql+asyncpg://app@localhost/conduit"),
        ("sqlite:///rel/conduit.db", "sqlite+aiosqlite:///rel/conduit.db"),
        ("sqlite:////abs/conduit.db", "sqlite+aiosqlite:////abs/conduit.db"),
        ("sqlite+aiosqlite:///./conduit.db", "sqlite+aiosqlite:///./conduit.db"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("mysql://app:pw@db.internal/conduit", "mysql+aiomysql://app:pw@db.internal/conduit"),
        ("mysql+aiomysql://app@h:3307/conduit", "mysql+aiomysql://app@h:3307/conduit"),
        ("mysql+pymysql://app@h/conduit", "mysql+aiomysql://app@h/conduit"),
        ("mariadb://app@h/conduit", "mysql+aiomysql://app@h/conduit"),
        ("MariaDB+aiomysql://app@h/conduit", "mysql+aiomysql://app@h/conduit"),
        (
            "mysql://app@h/conduit?ssl_ca=/etc/ca.pem",
            "mysql+aiomysql://app@h/conduit?ssl_ca=/etc/ca.pem",
        ),
    ],
)
def test_parse_normalises_to_the_async_driver(raw: str, expected: str) -> None:
    url = parse(raw)
    assert url == make_url(expected)
    assert url.drivername in ("postgresql+asyncpg", "sqlite+aiosqlite", "mysql+aiomysql")


def test_parse_keeps_a_percent_encoded_password_intact() -> None:
    url = parse("postgresql://app:p%40ss%3Aword@localhost/conduit")
    assert url.password == "p@ss:word"


def test_in_memory_sqlite_keeps_its_special_name() -> None:
    assert parse("sqlite+aiosqlite:///:memory:").database == ":memory:"


@pytest.mark.parametrize(
    ("async_url", "sync_url"),
    [
        (
            "postgresql+asyncpg://app:pw@h:5432/conduit",
            "postgresql+psycopg://app:pw@h:5432/conduit",
        ),
        ("sqlite+aiosqlite:///rel.db", "sqlite+pysqlite:///rel.db"),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite+pysqlite:////abs/x.db"),
        ("mysql+aiomysql://app:pw@h:3306/conduit", "mysql+pymysql://app:pw@h:3306/conduit"),
    ],
)
def test_to_sync_and_to_async_are_inverse(async_url: str, sync_url: str) -> None:
    assert to_sync(make_url(async_url)) == make_url(sync_url)
    assert to_async(make_url(sync_url)) == make_url(async_url)
    assert to_async(to_sync(make_url(async_url))) == make_url(async_url)


def test_to_async_and_to_sync_accept_the_postgres_alias_and_strings() -> None:
    assert to_sync(make_url("postgres://app@h/conduit")).drivername == "postgresql+psycopg"
    assert to_async("postgres://app@h/conduit").drivername == "postgresql+asyncpg"
    assert to_sync("sqlite:///x.db").drivername == "sqlite+pysqlite"


def test_to_async_refuses_an_unsupported_backend() -> None:
    with pytest.raises(InvalidDatabaseURL, match="unsupported backend 'oracle'"):
        to_async(make_url(f"oracle://app:{PASSWORD}@h/conduit"))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("conduit.db", "is not a URL"),
        ("localhost:5432/conduit", "is not a URL"),
        (f"app:{PASSWORD}@host://conduit", "is not a URL"),
        (f"oracle://app:{PASSWORD}@h/conduit", "unsupported scheme 'oracle'"),
        (f"mssql+aioodbc://app:{PASSWORD}@h/conduit", "unsupported scheme 'mssql+aioodbc'"),
        (f"mysql://app:{PASSWORD}@h", "names no database"),
        (f"mariadb://app:{PASSWORD}@h:3306/", "names no database"),
        (f"mysql://app:{PASSWORD}@h:70000/conduit", "port 70000, outside 1-65535"),
        (f"mysql://app:{PASSWORD}@h:abc/conduit", "port that is not a number"),
        (f"postgresql://app:{PASSWORD}@h:99999/conduit", "port 99999, outside 1-65535"),
        (f"postgresql://app:{PASSWORD}@h:0/conduit", "port 0, outside 1-65535"),
        (f"postgresql://app:{PASSWORD}@h:abc/conduit", "port that is not a number"),
        # No "@": the parser would read the password as the port and quote it back.
        (f"postgresql://app:{PASSWORD}/conduit", "port that is not a number"),
        (f"postgresql://app:{PASSWORD}@h", "names no database"),
        (f"postgresql://app:{PASSWORD}@h/", "names no database"),
        ("postgres://", "names no database"),
        ("sqlite://localhost/conduit.db", "has a host part"),
        (f"sqlite://app:{PASSWORD}@localhost/conduit.db", "has a host part"),
    ],
)
def test_parse_refuses_bad_urls_without_quoting_the_password(raw: str, reason: str) -> None:
    with pytest.raises(InvalidDatabaseURL) as caught:
        parse(raw)
    message = str(caught.value)
    assert reason in message
    assert PASSWORD not in message


def test_invalid_url_is_a_value_error() -> None:
    # Pydantic validators turn ValueError into a validation error naming the setting.
    assert issubclass(InvalidDatabaseURL, ValueError)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"postgresql+asyncpg://app:{PASSWORD}@h:5432/conduit",
            "postgresql+asyncpg://app:***@h:5432/conduit",
        ),
        (
            f"postgresql://app@h/conduit?password={PASSWORD}&sslmode=require",
            "postgresql://app@h/conduit?password=***&sslmode=require",
        ),
        ("postgresql://app@h/conduit", "postgresql://app@h/conduit"),
        ("sqlite+aiosqlite:///./conduit.db", "sqlite+aiosqlite:///./conduit.db"),
        (f"mysql+aiomysql://app:{PASSWORD}@h/conduit", "mysql+aiomysql://app:***@h/conduit"),
        (f"mysql://app@h/conduit?passwd={PASSWORD}", "mysql://app@h/conduit?passwd=***"),
        (f"postgresql://app:{PASSWORD}@h:port/conduit", "<unparseable URL>"),
    ],
)
def test_mask_hides_passwords(url: str, expected: str) -> None:
    assert mask(url) == expected
    assert PASSWORD not in mask(url)


def test_mask_accepts_a_url_object() -> None:
    url = parse(f"postgres://app:{PASSWORD}@h/conduit")
    assert mask(url) == "postgresql+asyncpg://app:***@h/conduit"
    # The URL object itself still carries the password for the driver.
    assert url.password == PASSWORD


@pytest.mark.parametrize(
    ("raw", "hosts", "query"),
    [
        (
            f"postgresql://app:{PASSWORD}@h1:5432,h2:5433/conduit?target_session_attrs=read-write",
            ("h1:5432", "h2:5433"),
            {"target_session_attrs": "read-write"},
        ),
        # libpq's default port for a host that names none.
        ("postgres://app@h1,h2:6000/conduit", ("h1:5432", "h2:6000"), {}),
        ("postgresql://app@[::1]:5432,[::2]/conduit", ("[::1]:5432", "[::2]:5432"), {}),
    ],
)
def test_parse_takes_a_libpq_host_list(
    raw: str, hosts: tuple[str, ...], query: dict[str, str]
) -> None:
    url = parse(raw)
    assert url.drivername == "postgresql+asyncpg"
    assert url.database == "conduit"
    assert url.query == {"host": hosts, **query}
    assert PASSWORD not in mask(url)
    # The sync driver takes the same form.
    assert to_sync(url).query == url.query


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (f"postgresql://app:{PASSWORD}@h1:5432,/conduit", "empty host"),
        (f"postgresql://app:{PASSWORD}@h1:5432,h2:x/conduit", "port that is not a number"),
        (f"postgresql://app:{PASSWORD}@h1:5432,h2:70000/conduit", "port 70000, outside 1-65535"),
        (f"postgresql://app:{PASSWORD}@h1,h2", "names no database"),
        (f"postgresql://app:{PASSWORD},x/conduit", "port that is not a number"),
    ],
)
def test_parse_refuses_a_bad_host_list_without_quoting_the_password(raw: str, reason: str) -> None:
    with pytest.raises(InvalidDatabaseURL) as caught:
        parse(raw)
    assert reason in str(caught.value)
    assert PASSWORD not in str(caught.value)
