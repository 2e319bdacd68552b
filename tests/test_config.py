"""Settings refuse what is only safe on a developer's machine."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from app.config import Settings

PRODUCTION = {
    "RAPPORT_ENVIRONMENT": "production",
    "DATABASE_URL": "postgresql://db/rapport",
    "RAPPORT_SESSION_SIGNING_KEY": "a production deployment's own 32+ byte secret",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Settings read from a clean environment: only what a test sets."""
    for name in list(os.environ):
        if name.startswith("RAPPORT_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return monkeypatch


def _settings_from(env: pytest.MonkeyPatch, values: dict[str, str]) -> Settings:
    for name, value in values.items():
        env.setenv(name, value)
    return Settings()


def test_production_settings_load_with_safe_values(env: pytest.MonkeyPatch) -> None:
    settings = _settings_from(env, PRODUCTION)
    assert settings.environment == "production"
    assert settings.webhook_allow_private_networks is False
    assert settings.webhook_allow_http is False


@pytest.mark.parametrize(
    "variable", ["RAPPORT_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "RAPPORT_WEBHOOK_ALLOW_HTTP"]
)
def test_production_refuses_an_open_webhook_guard(env: pytest.MonkeyPatch, variable: str) -> None:
    with pytest.raises(ValidationError, match=variable):
        _settings_from(env, {**PRODUCTION, variable: "true"})


@pytest.mark.parametrize(
    "variable", ["RAPPORT_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "RAPPORT_WEBHOOK_ALLOW_HTTP"]
)
def test_development_may_open_the_webhook_guard(env: pytest.MonkeyPatch, variable: str) -> None:
    settings = _settings_from(env, {"RAPPORT_ENVIRONMENT": "development", variable: "true"})
    assert settings.environment == "development"


def test_production_requires_a_database_url(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        _settings_from(env, {"RAPPORT_ENVIRONMENT": "production"})


def test_production_requires_a_session_signing_key(env: pytest.MonkeyPatch) -> None:
    """Member sessions are signed with it: a key generated at start would differ between
    replicas and change on every restart, signing members out."""
    without = {k: v for k, v in PRODUCTION.items() if k != "RAPPORT_SESSION_SIGNING_KEY"}
    with pytest.raises(ValidationError, match="RAPPORT_SESSION_SIGNING_KEY"):
        _settings_from(env, without)


def test_a_short_session_signing_key_is_refused(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        _settings_from(env, {**PRODUCTION, "RAPPORT_SESSION_SIGNING_KEY": "short"})


@pytest.mark.parametrize(
    "variable", ["RAPPORT_OIDC_ALLOW_PRIVATE_NETWORKS", "RAPPORT_OIDC_ALLOW_HTTP"]
)
def test_production_refuses_an_open_identity_provider_guard(
    env: pytest.MonkeyPatch, variable: str
) -> None:
    with pytest.raises(ValidationError, match="RAPPORT_OIDC_TRUSTED_ISSUERS"):
        _settings_from(env, {**PRODUCTION, variable: "true"})


@pytest.mark.parametrize("seconds", ["5.01", "6", "60"])
def test_api_key_cache_longer_than_five_seconds_is_refused(
    env: pytest.MonkeyPatch, seconds: str
) -> None:
    """Five seconds is the revocation promise; a longer cache would break it."""
    with pytest.raises(ValidationError, match="api_key_cache_seconds"):
        _settings_from(env, {"RAPPORT_API_KEY_CACHE_SECONDS": seconds})


@pytest.mark.parametrize(("seconds", "expected"), [("5", 5.0), ("0", 0.0), ("2.5", 2.5)])
def test_api_key_cache_up_to_five_seconds_is_accepted(
    env: pytest.MonkeyPatch, seconds: str, expected: float
) -> None:
    settings = _settings_from(env, {"RAPPORT_API_KEY_CACHE_SECONDS": seconds})
    assert settings.api_key_cache_seconds == expected


def test_api_key_cache_defaults_to_five_seconds(env: pytest.MonkeyPatch) -> None:
    assert _settings_from(env, {}).api_key_cache_seconds == 5.0


def test_a_lease_shorter_than_an_attempt_is_refused(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="RAPPORT_WEBHOOK_LEASE_SECONDS"):
        _settings_from(
            env, {"RAPPORT_WEBHOOK_LEASE_SECONDS": "20", "RAPPORT_WEBHOOK_TIMEOUT_SECONDS": "15"}
        )
    settings = _settings_from(
        env, {"RAPPORT_WEBHOOK_LEASE_SECONDS": "21", "RAPPORT_WEBHOOK_TIMEOUT_SECONDS": "15"}
    )
    assert settings.webhook_lease_seconds == 21
