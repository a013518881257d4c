"""Production refuses weak settings, each with one line naming the variable; limits are checked."""

from __future__ import annotations

import pytest

from conduit.settings import SettingsError, load_settings

STRONG_SECRET = "s" * 32
PRODUCTION = {
    "environment": "production",
    "secret_key": STRONG_SECRET,
    "allowed_hosts": "conduit.example.com",
    "metrics_token": "m" * 32,
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ENVIRONMENT",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "METRICS_TOKEN",
        "METRICS_ENABLED",
        "DOCS_ENABLED",
    ):
        monkeypatch.delenv(name, raising=False)


def production(**changes: object) -> dict[str, object]:
    return {**PRODUCTION, **changes}


def test_a_complete_production_configuration_loads() -> None:
    settings = load_settings(_env_file=None, **production())
    assert settings.allowed_hosts == ("conduit.example.com",)
    assert settings.serves_docs is False


@pytest.mark.parametrize("secret", ["abc", "x" * 31, "é" * 15])
def test_production_refuses_a_secret_key_shorter_than_32_bytes(secret: str) -> None:
    with pytest.raises(SettingsError, match=r"^SECRET_KEY: must be at least 32 bytes") as caught:
        load_settings(_env_file=None, **production(secret_key=secret))
    assert "\n" not in str(caught.value)
    assert secret not in str(caught.value)


def test_a_short_secret_key_is_accepted_outside_production() -> None:
    assert load_settings(_env_file=None, secret_key="abc").jwt_secret == "abc"


def test_production_needs_allowed_hosts() -> None:
    with pytest.raises(
        SettingsError, match=r"^ALLOWED_HOSTS: must be set when ENVIRONMENT=production"
    ):
        load_settings(_env_file=None, **production(allowed_hosts=""))


def test_production_needs_a_metrics_token_unless_metrics_are_off() -> None:
    with pytest.raises(
        SettingsError, match=r"^METRICS_TOKEN: must be set when ENVIRONMENT=production"
    ):
        load_settings(_env_file=None, **production(metrics_token=""))
    off = load_settings(_env_file=None, **production(metrics_token="", metrics_enabled=False))
    assert off.metrics_enabled is False


def test_allowed_hosts_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", "conduit.example.com, *.conduit.example.com")
    assert load_settings(_env_file=None).allowed_hosts == (
        "conduit.example.com",
        "*.conduit.example.com",
    )


@pytest.mark.parametrize("pattern", ["con*duit.example.com", "*conduit.example.com"])
def test_a_misplaced_wildcard_in_allowed_hosts_is_refused(
    monkeypatch: pytest.MonkeyPatch, pattern: str
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", pattern)
    with pytest.raises(SettingsError, match=r"^ALLOWED_HOSTS: .*wildcard"):
        load_settings(_env_file=None)


@pytest.mark.parametrize(
    ("environment", "docs_enabled", "served"),
    [
        ("development", None, True),
        ("test", None, True),
        ("production", None, False),
        ("production", True, True),
        ("development", False, False),
    ],
)
def test_docs_default_on_except_in_production(
    environment: str, docs_enabled: bool | None, served: bool
) -> None:
    extra = production() if environment == "production" else {"environment": environment}
    settings = load_settings(_env_file=None, **extra, docs_enabled=docs_enabled)
    assert settings.serves_docs is served


@pytest.mark.parametrize(
    "name",
    ["RATE_LIMIT_LOGIN_ACCOUNT", "RATE_LIMIT_LOGIN_ADDRESS", "RATE_LIMIT_REGISTER_ADDRESS"],
)
@pytest.mark.parametrize("value", ["lots", "5/fortnight", "0/minute"])
def test_a_malformed_rate_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=rf"^{name}: '{value}' is not a rate such as"):
        load_settings(_env_file=None)


def test_rates_take_the_limits_librarys_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_LOGIN_ACCOUNT", "10 per 15 minutes")
    assert load_settings(_env_file=None).rate_limit_login_account == "10 per 15 minutes"


@pytest.mark.parametrize("url", ["memcached://127.0.0.1:11211", "127.0.0.1:6379"])
def test_rate_limit_storage_is_memory_or_redis(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("RATE_LIMIT_STORAGE_URL", url)
    with pytest.raises(SettingsError, match=r"^RATE_LIMIT_STORAGE_URL: must be memory://"):
        load_settings(_env_file=None)


def test_the_defaults() -> None:
    settings = load_settings(_env_file=None)
    assert settings.rate_limit_enabled is True
    assert (
        settings.rate_limit_login_account,
        settings.rate_limit_login_address,
        settings.rate_limit_register_address,
    ) == ("5/minute", "20/minute", "10/hour")
    assert settings.rate_limit_storage_url == "memory://"
    assert settings.password_hash_concurrency == 2
    assert settings.forwarded_allow_ips == "127.0.0.1"
    assert settings.body_timeout_s == 5.0
    assert settings.allowed_hosts == ()


def test_a_body_timeout_not_shorter_than_the_request_deadline_is_refused() -> None:
    with pytest.raises(
        SettingsError, match=r"^BODY_TIMEOUT_S: must be shorter than REQUEST_TIMEOUT_S \(10\)$"
    ):
        load_settings(_env_file=None, body_timeout_s=10.0)
    assert (
        load_settings(_env_file=None, body_timeout_s=20.0, request_timeout_s=30.0).body_timeout_s
        == 20.0
    )
