"""Settings from ``ERPSYNC_*`` environment variables, with embedded defaults that need no other service.

With ``ERPSYNC_ENV=prod`` the settings refuse to load (naming the variable) without a secret key of at least
``MIN_SECRET_BYTES`` bytes, or with a shorter connector secret or metrics token: a generated key or a guessable
secret is for trying the product out, not for running it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_BYTES = 32

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ERPSYNC_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="where the embedded database, keys and files live")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite in data_dir")
    redis_url: str | None = Field(default=None, description="Redis for scale-out workers; default: in-process")
    secret_key: str | None = Field(default=None, description="encryption key; default: generated into data_dir")
    connector_secret: str | None = Field(default=None, description="shared secret of `connector serve`")
    env: Literal["dev", "prod"] = Field(
        default="dev", description="dev or prod; prod refuses weak or generated secrets"
    )
    http_timeout_seconds: float = 30.0
    live_sync: bool = Field(
        default=True,
        description="sync as changes happen: a watch per connection whose connector offers it, CRM changes pushed at "
        "once (while automatic sync is on); off: the scheduled cycle only",
    )
    interactive_budget_seconds: float = Field(
        default=8.0, description="how long a user's request (ERP tab, Test connection) may wait on a connector in all"
    )
    connector_concurrency: int = Field(
        default=8, ge=1, description="connector calls in flight at once per connector; more wait briefly, then fail"
    )
    connector_slot_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        description="how long a user's request waits for one of a busy connector's call slots before it is refused",
    )
    breaker_failures: int = Field(
        default=5, ge=1, description="consecutive unanswered calls after which a connector's circuit opens"
    )
    breaker_reset_seconds: float = Field(default=30.0, description="how long an open circuit fails fast before a probe")
    http_threads: int = Field(default=16, ge=4, description="threads that serve synchronous requests")
    http_switch_interval_ms: float = Field(
        default=1.0,
        gt=0,
        description="how long a thread of `erpsync serve` runs Python before another may (sys.setswitchinterval): "
        "shorter lets the event loop answer quick requests sooner while request threads compute",
    )
    sign_in_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="how long a process keeps who holds a bearer token (0: not at all); a sign-out, deactivation or "
        "new password made in another process (the command line, another hub process) counts there after this long",
    )
    database_pool_size: int | None = Field(
        default=None,
        description="connections per process; default: two per request thread, eight quick threads, eight spare",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks of reverse proxies whose X-Forwarded-For is believed",
    )
    metrics_token: str | None = Field(
        default=None,
        description="bearer token a Prometheus scraper sends to GET /metrics (administrators' tokens work too)",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text lines for people, or json: one JSON object per line for a log pipeline"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="the least level logged"
    )
    webhook_allowed_hosts: str = Field(
        default="",
        description="comma-separated host names an alert webhook may use in prod although they resolve to a loopback, "
        "private, link-local or unspecified address (an in-house receiver)",
    )
    login_limit: str = Field(
        default="20/minute", description="sign-in attempts allowed per client address (limits notation)"
    )
    login_account_limit: str = Field(
        default="100/hour", description="failed sign-ins allowed per login name from all addresses together"
    )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'erpsync.sqlite'}"

    @property
    def webhook_allowed_host_names(self) -> tuple[str, ...]:
        return tuple(name.strip().lower() for name in self.webhook_allowed_hosts.split(",") if name.strip())

    @property
    def trusted_proxy_networks(self) -> tuple[IpNetwork, ...]:
        return _networks(self.trusted_proxies)

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        _networks(value)
        return value

    @field_validator("login_limit", "login_account_limit")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate limit such as '20/minute'") from exc
        return value

    @model_validator(mode="after")
    def _prod_needs_strong_secrets(self) -> Settings:
        if self.env != "prod":
            return self
        if not self.secret_key:
            raise ValueError(
                "ERPSYNC_SECRET_KEY must be set with ERPSYNC_ENV=prod: a key generated into the data folder is for "
                "development only"
            )
        for variable, value in (
            ("ERPSYNC_SECRET_KEY", self.secret_key),
            ("ERPSYNC_CONNECTOR_SECRET", self.connector_secret),
            ("ERPSYNC_METRICS_TOKEN", self.metrics_token),
        ):
            if value is not None and len(value.encode()) < MIN_SECRET_BYTES:
                raise ValueError(f"{variable} must be at least {MIN_SECRET_BYTES} bytes long with ERPSYNC_ENV=prod")
        return self


def _networks(text: str) -> tuple[IpNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"ERPSYNC_TRUSTED_PROXIES: {exc}") from exc


@lru_cache
def get_settings() -> Settings:
    return Settings()
