"""Settings from ``ERPSYNC_*`` environment variables, with embedded defaults that need no other service."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ERPSYNC_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="where the embedded database, keys and files live")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite in data_dir")
    redis_url: str | None = Field(default=None, description="Redis for scale-out workers; default: in-process")
    secret_key: str | None = Field(default=None, description="encryption key; default: generated into data_dir")
    connector_secret: str | None = Field(default=None, description="shared secret of `connector serve`")
    env: str = Field(default="dev", description="dev or prod; prod refuses weak or generated secrets")
    http_timeout_seconds: float = 30.0
    interactive_budget_seconds: float = Field(
        default=8.0, description="how long a user's request (ERP tab, Test connection) may wait on a connector in all"
    )
    connector_concurrency: int = Field(
        default=8, ge=1, description="connector calls in flight at once per connector; more wait briefly, then fail"
    )
    breaker_failures: int = Field(
        default=5, ge=1, description="consecutive unanswered calls after which a connector's circuit opens"
    )
    breaker_reset_seconds: float = Field(default=30.0, description="how long an open circuit fails fast before a probe")
    http_threads: int = Field(default=40, ge=4, description="threads that serve synchronous requests")
    database_pool_size: int | None = Field(
        default=None, description="connections per process; default: two per request thread plus eight spare"
    )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'erpsync.sqlite'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
