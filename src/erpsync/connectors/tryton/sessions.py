"""Logged-in Tryton sessions kept per connection, so a call costs its own RPCs and not a login.

A session is opened on a connection's first call: the server's version is checked, the user logs in, the company is
checked and the roles' categories and relation type are looked up, each bad value with its own message, and the
languages the database translates are read. It then
serves every call of that connection from any thread; ``TrytonRpc`` renews it when Tryton forgets it. Saving a new
config or deleting the connection drops it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from erpsync.connectors.tryton.languages import FieldTexts, spoken, translatable
from erpsync.connectors.tryton.records import Records
from erpsync.connectors.tryton.roles import Roles, load_roles
from erpsync.connectors.tryton.rpc import NotTrytonError, TrytonRpc
from erpsync.connectors.tryton.texts import TEXTS
from erpsync.errors import TransientError, ValidationError
from erpsync.protocol import models as m


@dataclass
class Session:
    """One connection's logged-in client, company, roles, the languages its database translates (``languages.py``),
    and the lock that serialises its creates."""

    config: m.Config
    rpc: TrytonRpc
    company: int
    roles: Roles
    languages: tuple[str, ...] = ()
    create_lock: threading.Lock = field(default_factory=threading.Lock)
    texts: FieldTexts = field(init=False)

    def __post_init__(self) -> None:
        self.texts = FieldTexts(self.rpc)

    def records(self) -> Records:
        return Records(self.rpc, self.company, self.roles)

    def language(self, asked: str | None) -> str | None:
        """The database's language that answers ``asked``; None: English."""
        return spoken(asked, self.languages)

    def close(self) -> None:
        self.rpc.close()


def open_session(config: m.Config) -> Session:
    """Log in with ``config``; ``ValidationError``/``AuthError`` name the value that is wrong."""
    url, database, user, password = (_text(config, key) for key in ("url", "database", "user", "password"))
    try:
        TrytonRpc.server_version(url)
    except (NotTrytonError, TransientError) as error:
        raise ValidationError(
            TEXTS.text("{url} does not answer as a Tryton server: check the server URL", url=url),
            tech_message=error.tech_message,
        ) from error
    rpc = TrytonRpc(url, database)
    try:
        rpc.login(user, password)
        company = _company(config, rpc)
        roles = load_roles(config, rpc, company)
        return Session(dict(config), rpc, company, roles, translatable(rpc))
    except BaseException:
        rpc.close()
        raise


@contextmanager
def session_for_test(config: m.Config) -> Iterator[Session]:
    """A session opened for one check and closed after it: ``test_config`` proves the values by logging in now."""
    session = open_session(config)
    try:
        yield session
    finally:
        session.close()


class Sessions:
    """The open sessions by connection id; thread-safe."""

    def __init__(self) -> None:
        self._open: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, connection_id: str, config: m.Config) -> Session:
        """The connection's session; a new one when there is none or it was opened with another config."""
        with self._lock:
            session = self._open.get(connection_id)
            if session is not None and session.config == config:
                return session
            if session is not None:
                session.close()
            self._open[connection_id] = session = open_session(config)
            return session

    def put(self, connection_id: str, session: Session) -> None:
        """``session`` serves the connection from now on; the one it replaces is closed."""
        with self._lock:
            replaced = self._open.get(connection_id)
            self._open[connection_id] = session
        if replaced is not None and replaced is not session:
            replaced.close()

    def languages(self) -> list[str]:
        """The languages the databases of the open sessions translate, each once."""
        with self._lock:
            sessions = list(self._open.values())
        return sorted({language for session in sessions for language in session.languages})

    def drop(self, connection_id: str) -> None:
        with self._lock:
            session = self._open.pop(connection_id, None)
        if session is not None:
            session.close()

    def close(self) -> None:
        with self._lock:
            sessions, self._open = list(self._open.values()), {}
        for session in sessions:
            session.close()


def _text(config: m.Config, key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(TEXTS.text("the Tryton connection needs a {key}", key=key))
    return value.strip()


def _company(config: m.Config, rpc: TrytonRpc) -> int:
    value = config.get("company")
    company = rpc.context.get("company") if value in (None, "") else _company_id(value)
    if company is None or company not in rpc.context.get("companies", []):
        raise ValidationError(TEXTS.text("company {value} is not one of the Tryton user's companies", value=value))
    return int(company)


def _company_id(value: m.Value) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() else None
