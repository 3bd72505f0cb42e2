"""The sample connector's ``watch``: records changed or deleted at or after a position (an ERP stamp), read in one
snapshot, and the position after them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from erpsync.protocol.models import ActorType

from . import store
from .fields import KIND_OF
from .values import parse_datetime


@dataclass(frozen=True)
class WatchPage:
    changed: list[tuple[ActorType, str]]  # stamp order, at most the limit asked
    more: bool
    next_since: str


def position(since: str) -> str:
    """A watch position as the ERP's stamp format (ValidationError when it is not a moment)."""
    return parse_datetime(since, what="since").strftime(store.STAMP_FORMAT)


def current_position(db: sqlite3.Connection) -> str:
    """The stamp the ERP hands out next: every change from now on is at or after it."""
    return store.format_stamp(db.execute("SELECT last_us FROM clock").fetchone()[0] + 1)


def changed_since(
    db: sqlite3.Connection, company: str, actor_types: Sequence[ActorType], *, since: str, limit: int
) -> WatchPage:
    entries = sorted(
        (entry.stamp, actor_type, str(entry.key))
        for actor_type in dict.fromkeys(actor_types)
        for entry in store.change_entries(
            db, KIND_OF[actor_type], company, actor_type, since=since, after=None, limit=limit + 1
        )
    )
    if len(entries) <= limit:
        return WatchPage([(t, key) for _, t, key in entries], more=False, next_since=current_position(db))
    kept = entries[:limit]
    after_last = parse_datetime(kept[-1][0], what="stamp") + timedelta(microseconds=1)
    return WatchPage([(t, key) for _, t, key in kept], more=True, next_since=after_last.strftime(store.STAMP_FORMAT))
