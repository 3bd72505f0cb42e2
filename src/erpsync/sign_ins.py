"""Who holds a bearer token, kept a few seconds per process, so asking who calls (every API request, ``GET /me``
above all) reads no database and takes no thread while the hub is busy.

An entry lives at most ``seconds`` (``ERPSYNC_SIGN_IN_CACHE_SECONDS``, default 5; 0 turns the cache off) and never
past its token's expiry. Every change that can end or alter a sign-in goes through ``accounts`` (sign-out, a new
password, deactivation, deletion, role or licence changes, a token revoked), which calls ``forget_after_commit``: once
that transaction commits, every entry of the process is stale, so in the process that made the change the token is
refused (or the user seen as changed) at once. A change made by another process (the command line, another hub
process) is seen here within ``seconds``.

A hit gives a fresh detached copy of the user, never one shared between requests: handlers read it, services look the
user up again to change it.

Public names: ``SignInCache``, ``forget_after_commit``, ``forget_all``, ``generation``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, make_transient_to_detached

from erpsync.crypto import token_digest
from erpsync.storage.tables import User

MAX_ENTRIES = 4096
_FORGET_KEY = "erpsync.forget_sign_ins"

_generations = itertools.count(1)
_generation = 0
_generation_lock = threading.Lock()


def generation() -> int:
    """The process's sign-in generation: an entry kept under an older one is stale."""
    return _generation


def forget_all() -> None:
    """Every entry kept so far is stale (in every cache of the process)."""
    global _generation  # one counter per process, shared by every app in it
    with _generation_lock:
        _generation = next(_generations)


def forget_after_commit(session: Session) -> None:
    """``session`` changes who may sign in (or as what): once it commits, nothing kept before counts."""
    session.info[_FORGET_KEY] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_FORGET_KEY, False):
        forget_all()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_FORGET_KEY, None)  # nothing changed


_COLUMNS = tuple(column.key for column in User.__mapper__.column_attrs)


@dataclass(frozen=True)
class _Entry:
    values: dict[str, Any]
    until: float  # time.monotonic()
    generation: int


class SignInCache:
    """Bearer token -> its user, thread-safe and bounded; see the module's docstring for how long an entry counts."""

    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def user(self, token: str) -> User | None:
        """A detached copy of the token's user if kept and still current, else None (then read it and ``keep``)."""
        if self.seconds <= 0:
            return None
        key = token_digest(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.generation != _generation or entry.until <= time.monotonic():
                del self._entries[key]
                return None
        user = User(**entry.values)
        make_transient_to_detached(user)
        return user

    def keep(self, token: str, user: User, *, seconds_left: float, since: int) -> None:
        """Keep ``user`` as the holder of ``token``, valid for ``seconds_left`` more at most (the token's own
        lifetime), unless a change was committed since ``since`` (the ``generation()`` taken before reading)."""
        lifetime = min(self.seconds, seconds_left)
        if lifetime <= 0:
            return
        key, entry = (
            token_digest(token),
            _Entry({name: getattr(user, name) for name in _COLUMNS}, time.monotonic() + lifetime, since),
        )
        with self._lock:
            if since != _generation:
                return
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
