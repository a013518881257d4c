"""Settings: read from the environment, malformed values named in one line, typed config out."""

from __future__ import annotations

import pytest

from conduit.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings

PASSWORD = "hunter2-s3cret"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_REPLICA_URLS", "CORS_ORIGINS", "SECRET_KEY", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (f"oracle://app:{PASSWORD}@h/conduit", "unsupported scheme"),
        (f"postgresql://app:{PASSWORD}@h:abc/conduit", "port that is not a number"),
        (f"postgresql://app:{PASSWORD}@h", "names no database"),
        ("not a url", "is not a URL"),
    ],
)
def test_malformed_database_url_fails_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str, reason: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", raw)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith("DATABASE_URL: ")
    assert reason in message
    assert "\n" not in message
    assert PASSWORD not in message


def test_database_url_defaults_to_the_embedded_sqlite_file() -> None:
    settings = load_settings(_env_file=None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database.url.drivername == "sqlite+aiosqlite"
    assert settings.database.is_sqlite


def test_postgres_database_url_gets_the_asyncpg_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://app:pw@db:5432/conduit")
    settings = load_settings(_env_file=None)
    assert settings.database.url.drivername == "postgresql+asyncpg"
    assert settings.database.url.database == "conduit"
    assert settings.database.is_postgres


def test_replica_urls_are_read_as_comma_separated_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DATABASE_REPLICA_URLS",
        " postgres://ro@replica1/conduit , postgresql://ro@replica2/conduit,",
    )
    settings = load_settings(_env_file=None, database_url="postgresql://app@primary/conduit")
    assert settings.database_replica_urls == (
        "postgres://ro@replica1/conduit",
        "postgresql://ro@replica2/conduit",
    )
    assert [url.host for url in settings.database.replica_urls] == ["replica1", "replica2"]
    assert {url.drivername for url in settings.database.replica_urls} == {"postgresql+asyncpg"}


def test_empty_replica_urls_mean_no_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_REPLICA_URLS", "")
    assert load_settings(_env_file=None).database.replica_urls == ()


def test_a_malformed_replica_url_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DATABASE_REPLICA_URLS", f"postgresql://ro@r1/conduit,mysql://ro:{PASSWORD}@r2/conduit"
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith("DATABASE_REPLICA_URLS: ")
    assert PASSWORD not in str(caught.value)


def test_cors_origins_are_read_as_comma_separated_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://conduit.example, http://localhost:3000 ,,")
    settings = load_settings(_env_file=None)
    assert settings.cors_origins == ("https://conduit.example", "http://localhost:3000")


def test_pool_and_timeout_knobs_reach_the_database_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "4")
    monkeypatch.setenv("DB_POOL_TIMEOUT", "2.5")
    monkeypatch.setenv("DB_POOL_RECYCLE", "600")
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "1500")
    monkeypatch.setenv("DB_PGBOUNCER", "true")
    monkeypatch.setenv("SQL_ECHO", "1")
    config = load_settings(_env_file=None).database
    assert (config.pool_size, config.max_overflow, config.pool_timeout) == (3, 4, 2.5)
    assert (config.pool_recycle, config.statement_timeout_ms) == (600, 1500)
    assert config.pgbouncer is True
    assert config.echo is True


def test_a_malformed_number_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "lots")
    with pytest.raises(SettingsError, match=r"^DB_POOL_SIZE: "):
        load_settings(_env_file=None)


def test_production_without_secret_key_fails_at_load() -> None:
    # Refused when the settings are read, before any app or command can start.
    with pytest.raises(SettingsError, match=r"^SECRET_KEY: must be set"):
        load_settings(_env_file=None, environment="production")


def test_settings_repr_hides_secrets() -> None:
    settings = load_settings(
        _env_file=None,
        database_url="postgresql://app:hunter2@db.internal/conduit",
        secret_key="very-secret-signing-key",
    )
    assert "hunter2" not in repr(settings)
    assert "very-secret-signing-key" not in repr(settings)


def test_development_without_secret_key_uses_a_generated_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = load_settings(_env_file=None, environment="development")
    with caplog.at_level("WARNING"):
        key = settings.jwt_secret
    assert len(key) >= 32
    assert "SECRET_KEY is not set" in caplog.text


def test_a_given_secret_key_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("ALLOWED_HOSTS", "conduit.example.com")
    monkeypatch.setenv("METRICS_TOKEN", "m" * 32)
    assert load_settings(_env_file=None).jwt_secret == "k" * 40


def test_the_database_config_never_shows_the_password() -> None:
    settings = load_settings(
        _env_file=None,
        database_url=f"postgresql://app:{PASSWORD}@db/conduit",
        database_replica_urls=f"postgresql://ro:{PASSWORD}@replica/conduit",
    )
    # The config object is what gets logged and printed; the URLs inside it mask themselves.
    assert PASSWORD not in repr(settings.database)
    assert PASSWORD not in str(settings.database.url)
    assert settings.database.url.password == PASSWORD


def test_database_direct_url_is_optional_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_DIRECT_URL", raising=False)
    assert load_settings(_env_file=None).database.direct_url is None
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@pgbouncer:6432/conduit")
    monkeypatch.setenv("DATABASE_DIRECT_URL", "postgresql://app@primary:5432/conduit")
    direct = load_settings(_env_file=None).database.direct_url
    assert direct is not None
    assert (direct.drivername, direct.host) == ("postgresql+asyncpg", "primary")

    monkeypatch.setenv("DATABASE_DIRECT_URL", f"postgresql://app:{PASSWORD}@primary:x/conduit")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith("DATABASE_DIRECT_URL: ")
    assert PASSWORD not in str(caught.value)


def test_the_default_pool_holds_its_connections_with_the_same_ceiling() -> None:
    config = load_settings(_env_file=None).database
    # No overflow: nothing opened under load to be closed on return; the ceiling stays 20.
    assert (config.pool_size, config.max_overflow, config.pool_capacity) == (20, 0, 20)
    assert config.connections_per_share == 15


def test_database_sslmode_is_one_of_libpqs_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_SSLMODE", "verify-full")
    assert load_settings(_env_file=None).database.sslmode == "verify-full"
    monkeypatch.setenv("DATABASE_SSLMODE", "on")
    with pytest.raises(SettingsError, match=r"^DATABASE_SSLMODE: "):
        load_settings(_env_file=None)


def test_an_unknown_sslmode_in_a_url_names_its_variable() -> None:
    with pytest.raises(SettingsError, match=r"^DATABASE_URL: 'yes' is not an sslmode"):
        load_settings(_env_file=None, database_url="postgresql://u@db/app?sslmode=yes")
    with pytest.raises(SettingsError, match=r"^DATABASE_REPLICA_URLS: 'on' is not an sslmode"):
        load_settings(
            _env_file=None,
            database_url="postgresql://u@db/app",
            database_replica_urls="postgresql://u@replica/app?ssl=on",
        )


def test_the_access_log_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(_env_file=None).access_log is False
    monkeypatch.setenv("ACCESS_LOG", "true")
    assert load_settings(_env_file=None).access_log is True
