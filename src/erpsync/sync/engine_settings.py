"""The engine's settings (SPEC §4 *Engine*): automatic sync on or off, and its interval; one row, the defaults until
someone saves them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from erpsync.errors import ValidationError
from erpsync.storage.tables import EngineState, utcnow

ENGINE_STATE_ID = 1
DEFAULT_INTERVAL_SECONDS = 300
MIN_INTERVAL_SECONDS = 1
MAX_INTERVAL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class EngineSettings:
    running: bool = True
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS


def engine_settings(session: Session) -> EngineSettings:
    """Automatic sync on/off and its interval (SPEC §4 *Engine*); the defaults until someone saves them."""
    row = session.get(EngineState, ENGINE_STATE_ID)
    return EngineSettings(row.running, row.interval_seconds) if row else EngineSettings()


def save_engine_settings(session: Session, settings: EngineSettings) -> EngineSettings:
    if not MIN_INTERVAL_SECONDS <= settings.interval_seconds <= MAX_INTERVAL_SECONDS:
        raise ValidationError(
            f"the interval must be {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS} seconds, "
            f"not {settings.interval_seconds}"
        )
    row = session.get(EngineState, ENGINE_STATE_ID) or EngineState(id=ENGINE_STATE_ID)
    row.running, row.interval_seconds, row.updated_at = settings.running, settings.interval_seconds, utcnow()
    session.add(row)
    session.flush()
    return settings
