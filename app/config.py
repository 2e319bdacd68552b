"""Service configuration, read once from the environment.

Every setting has the ``RAPPORT_`` prefix except ``DATABASE_URL``, which follows the
convention most platforms already use. Production mode refuses settings that are only
safe on a developer's machine, so a forgotten test flag cannot reach real traffic.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.origins import parse_origins

DEFAULT_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,36000"
#: Seconds kept free at the end of a webhook lease for recording a round's results: an
#: attempt may only start if it can end (timeout) this long before the lease does.
WEBHOOK_LEASE_MARGIN_SECONDS = 5.0


def default_data_dir() -> Path:
    """Where the embedded database and the demo key live unless ``RAPPORT_DATA_DIR`` says.

    Never the current folder: a command run from elsewhere would start a second embedded
    server there, whose keys work nowhere else. A checkout (the package installed from
    it, editable) keeps its data beside the code, so ``make run``, the tests and any
    ``rapport`` command of that checkout share one database; an installed package uses
    the user's data folder (``$XDG_DATA_HOME/rapport``, by default
    ``~/.local/share/rapport``).
    """
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "alembic").is_dir():
        return checkout / ".rapport"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "rapport"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "RAPPORT_DATABASE_URL")
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    migrate_on_start: bool = True
    # Where ``rapport serve`` listens: ``PORT`` is what most platforms set.
    host: str = "127.0.0.1"
    port: int = Field(
        default=8000, ge=1, le=65535, validation_alias=AliasChoices("RAPPORT_PORT", "PORT")
    )
    # Reads get this many connections per process, writes twice as many (app.db). Fewer
    # crowd PostgreSQL less under writes (64 creates in flight cost it 0.26-0.31 ms each
    # on 10 write connections, 0.32-0.34 on 20, 0.46-0.48 on 64), but gets were ~6% slower
    # on 5 read connections than on 10 (2 cores, bench_api's data): see the README.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # How long a request waits for the database: a statement (PostgreSQL's own
    # statement_timeout, and the driver's, for a server that does not answer at all), a
    # new connection, and a pooled connection each. Past it the request answers 503.
    db_statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    # The scheduler's jobs run long statements on purpose (a night's scores of a big
    # workspace): they get their own connections with this statement timeout.
    scheduler_statement_timeout_ms: int = Field(default=600_000, ge=1000, le=86_400_000)
    # ``rapport serve`` waits this long for a database that is not up yet.
    db_wait_seconds: float = Field(default=60.0, ge=0, le=3600)

    log_level: str = "INFO"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_import_bytes: int = Field(default=64 * 1_048_576, ge=1024)
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=5.0)
    idempotency_ttl_hours: int = Field(default=24, ge=1)

    scheduler_enabled: bool = True
    scheduler_interval_seconds: float = Field(default=30.0, gt=0)

    webhooks_enabled: bool = True
    webhook_retry_schedule: str = DEFAULT_RETRY_SCHEDULE
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_allow_private_networks: bool = False
    webhook_allow_http: bool = False
    webhook_disable_after_days: float = Field(default=5.0, gt=0)
    webhook_batch_size: int = Field(default=200, ge=1, le=5000)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_concurrency: int = Field(default=32, ge=1, le=512)

    # Members' sign-in: built-in session tokens (HS256 with this key; in development a
    # key is generated once into the data dir) and OpenID Connect identity providers.
    session_signing_key: SecretStr | None = None
    session_minutes: int = Field(default=60, ge=1, le=24 * 60)
    oidc_leeway_seconds: int = Field(default=60, ge=0, le=600)
    oidc_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    oidc_allow_private_networks: bool = False
    oidc_allow_http: bool = False
    #: Issuers the operator trusts to live on a private network (an in-house Keycloak):
    #: exact issuer URLs, comma-separated. Any other issuer must resolve to public addresses.
    oidc_trusted_issuers: str = ""
    audit_retention_days: int = Field(default=365, ge=1)

    # The integrator's contract: browser origins allowed besides each workspace's own list
    # (exact origins, comma-separated; `*` only outside production), and each credential's
    # default limit (a workspace or an API key may set its own).
    cors_origins: str = ""
    rate_limit_per_minute: int = Field(default=600, ge=1, le=10_000_000)
    #: Off where a gateway in front of Rapport already limits each client.
    rate_limits_enabled: bool = True

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_exact(cls, value: str) -> str:
        parse_origins(value)
        return value

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return parse_origins(self.cors_origins)

    @field_validator("session_signing_key")
    @classmethod
    def _key_is_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("RAPPORT_SESSION_SIGNING_KEY must be at least 32 bytes")
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule_is_numbers(cls, value: str) -> str:
        parse_retry_schedule(value)
        return value

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        least = self.webhook_timeout_seconds + WEBHOOK_LEASE_MARGIN_SECONDS
        if self.webhook_lease_seconds <= least:
            raise ValueError(
                "RAPPORT_WEBHOOK_LEASE_SECONDS must exceed RAPPORT_WEBHOOK_TIMEOUT_SECONDS + "
                f"{WEBHOOK_LEASE_MARGIN_SECONDS:g} (got {self.webhook_lease_seconds:g}; "
                f"at least {least:g} needed), or no attempt could finish inside its lease"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.webhook_allow_private_networks:
                raise ValueError(
                    "RAPPORT_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true is refused in production mode"
                )
            if self.webhook_allow_http:
                raise ValueError("RAPPORT_WEBHOOK_ALLOW_HTTP=true is refused in production mode")
            if not self.database_url:
                raise ValueError("DATABASE_URL is required in production mode")
            if self.session_signing_key is None:
                raise ValueError("RAPPORT_SESSION_SIGNING_KEY is required in production mode")
            if "*" in self.allowed_origins:
                raise ValueError("RAPPORT_CORS_ORIGINS=* is refused in production mode")
            if self.oidc_allow_private_networks or self.oidc_allow_http:
                raise ValueError(
                    "RAPPORT_OIDC_ALLOW_PRIVATE_NETWORKS / _ALLOW_HTTP are refused in production "
                    "mode: list a private issuer in RAPPORT_OIDC_TRUSTED_ISSUERS instead"
                )
        return self

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        return parse_retry_schedule(self.webhook_retry_schedule)

    @property
    def trusted_issuers(self) -> frozenset[str]:
        return frozenset(i.strip() for i in self.oidc_trusted_issuers.split(",") if i.strip())

    @property
    def db_timeout_seconds(self) -> float:
        return self.db_statement_timeout_ms / 1000


def parse_retry_schedule(value: str) -> tuple[float, ...]:
    """Parse ``"5,300,1800"`` into seconds; an empty or negative schedule is a typo, not a wish."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise ValueError("retry schedule needs at least one delay")
    delays = tuple(float(p) for p in parts)
    if any(d < 0 for d in delays):
        raise ValueError("retry delays must be >= 0 seconds")
    return delays


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
