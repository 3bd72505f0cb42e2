"""Registered sync connectors (SPEC §4) and the clients the hub talks to them with.

A connector is registered by name, URL and shared secret; the hub asks its ``info`` first and refuses a URL that
does not answer as a protocol v1 connector, with one answer whatever the URL did (closed port, another service, a bad
signature), so registering connectors cannot serve as a port scanner; the detail goes to the server log only. A URL
holds no control characters and no user-info, and in production it is https unless it names this machine. The secret
is stored encrypted and never returned.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync import audit, text
from erpsync.crypto import Cipher
from erpsync.errors import ConflictError, ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient, UnknownConnectionCallback, declared_signing
from erpsync.storage.tables import ErpConnection, SyncConnector
from erpsync.sync.bulkhead import Bulkhead, BulkheadPolicy

logger = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 16
NOT_A_CONNECTOR = "{url} does not answer as an erpsync connector: check the URL and the shared secret"
"""The one answer to a failed probe, whatever the URL did; the reason is logged for the operator."""

ClientFactory = Callable[..., ConnectorClient]
"""Builds a client: ``factory(base_url, secret, timeout=..., on_unknown_connection=..., signing=...)``."""


class ConnectorClients:
    """One ``ConnectorClient`` per registered connector, rebuilt when its URL or secret changes.

    ``resend`` is called with a connection UUID the connector answered ``unknown_connection`` for; it should send
    ``save_connection`` again (see ``erpsync.sync.connections.Resender``). ``https_required``: the hub runs in
    production, so a connector URL it registers must use https (``check_url``).
    """

    def __init__(
        self,
        cipher: Cipher,
        *,
        resend: UnknownConnectionCallback | None = None,
        factory: ClientFactory = ConnectorClient,
        timeout: float = 30.0,
        bulkhead: BulkheadPolicy | None = None,
        https_required: bool = False,
    ) -> None:
        self.cipher = cipher
        self.https_required = https_required
        self._resend = resend
        self._factory = factory
        self._timeout = timeout
        self._policy = bulkhead or BulkheadPolicy()
        self._clients: dict[int, tuple[tuple[str, str], ConnectorClient]] = {}
        self._bulkheads: dict[int, Bulkhead] = {}
        self._lock = threading.Lock()

    def probe(self, url: str, secret: str) -> ConnectorClient:
        """A throw-away client for a connector that is not registered yet."""
        return self._factory(url, secret, timeout=self._timeout)

    def for_connector(self, connector: SyncConnector) -> ConnectorClient:
        identity = (connector.url, connector.secret_encrypted)
        with self._lock:
            cached = self._clients.get(connector.id)
            if cached and cached[0] == identity:
                return cached[1]
            client = self._factory(
                connector.url,
                self.cipher.decrypt(connector.secret_encrypted),
                timeout=self._timeout,
                on_unknown_connection=self._resend,
                signing=declared_signing(connector.info_json or {}),  # never below what it declared at registration
            )
            if cached:
                cached[1].close()
            # One bulkhead per connector, kept across new URLs or secrets: it guards the ERP behind it.
            client.guard = self._bulkheads.setdefault(connector.id, Bulkhead(connector.name, self._policy))
            self._clients[connector.id] = (identity, client)
            return client

    @property
    def interactive_budget(self) -> float:
        """Seconds a person's request may wait on one connector operation, retries included."""
        return self._policy.interactive_budget_seconds

    def bulkhead(self, connector_id: int) -> Bulkhead | None:
        """The bulkhead of a connector the hub has called since it started (None before its first call)."""
        with self._lock:
            return self._bulkheads.get(connector_id)

    def close(self) -> None:
        with self._lock:
            for _identity, client in self._clients.values():
                client.close()
            self._clients.clear()


def check_url(url: str, *, https_required: bool = False) -> str:
    """The URL to store (no trailing slash), or ``ValidationError`` saying what is wrong with it.

    ``https_required`` (production): plain http is allowed only to this machine (a loopback address or localhost),
    since password config fields travel to the connector in the request bodies.
    """
    url = text.refuse_control(url, "the connector URL").strip()
    parts = _split(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("the connector URL must be an http(s) URL with a host, such as https://erp.example.com")
    if "@" in parts.netloc:
        raise ValidationError("the connector URL must not hold a user name or password: use the shared secret")
    if https_required and parts.scheme != "https" and not _is_loopback(parts.hostname):
        raise ValidationError("in production a connector URL must use https, unless the connector runs on this machine")
    return url.rstrip("/")


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks the port is a number in range
    except ValueError as exc:
        raise ValidationError(f"the connector URL is not a valid URL: {exc}") from None
    return parts


def _is_loopback(host: str) -> bool:
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secret(secret: str) -> str:
    text.refuse_nul(secret, "the shared secret")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError(f"the shared secret must have at least {MIN_SECRET_LENGTH} characters")
    return secret


def probe_info(clients: ConnectorClients, url: str, secret: str) -> m.InfoResponse:
    """The connector's ``info``, or ``ValidationError(NOT_A_CONNECTOR)`` whatever went wrong; the log says what.

    ``url`` has passed ``check_url``, so echoing it back shows the caller only what they typed."""
    try:
        client = clients.probe(url, secret)
    except Exception as exc:  # anything the URL makes the client do is answered alike
        _log_failed_probe(url, secret, exc)
        raise ValidationError(NOT_A_CONNECTOR.format(url=url)) from None
    try:
        return client.info()
    except Exception as exc:  # closed port, another service, bad signature: one answer
        _log_failed_probe(url, secret, exc)
        raise ValidationError(NOT_A_CONNECTOR.format(url=url)) from None
    finally:
        client.close()


def _log_failed_probe(url: str, secret: str, exc: Exception) -> None:
    detail = exc.user_message if isinstance(exc, ErpsyncError) else f"{type(exc).__name__}: {exc}"
    logger.warning("connector probe of %s failed: %s", url, detail.replace(secret, "[secret]") if secret else detail)


def list_connectors(session: Session) -> list[SyncConnector]:
    return list(session.scalars(select(SyncConnector).order_by(SyncConnector.name)))


def get_connector(session: Session, connector_id: int) -> SyncConnector:
    connector = session.get(SyncConnector, connector_id)
    if connector is None:
        raise NotFoundError(f"no sync connector with id {connector_id}")
    return connector


def _clean_name(name: str) -> str:
    name = text.refuse_control(name.strip(), "the connector name")
    if not name:
        raise ValidationError("the connector needs a name")
    return name


def _check_name(session: Session, name: str, *, exclude_id: int | None = None) -> str:
    name = _clean_name(name)
    query = select(SyncConnector.id).where(func.lower(SyncConnector.name) == name.lower())
    if exclude_id is not None:
        query = query.where(SyncConnector.id != exclude_id)
    if session.scalar(query) is not None:
        raise ConflictError(f"a sync connector named {name!r} exists already")
    return name


def add_connector(
    session: Session,
    clients: ConnectorClients,
    *,
    name: str,
    url: str,
    secret: str,
    by: int | None = None,
) -> SyncConnector:
    """Register a connector after its ``info`` answered; ``by`` is the user (None: the command line), for the audit.
    The URL is checked as the clients' ``https_required`` says (``check_url``)."""
    _clean_name(name)
    url = check_url(url, https_required=clients.https_required)
    info = probe_info(clients, url, check_secret(secret))  # before any query: no transaction while it answers
    name = _check_name(session, name)
    connector = SyncConnector(
        name=name, url=url, secret_encrypted=clients.cipher.encrypt(secret), info_json=info_json(info)
    )
    session.add(connector)
    session.flush()
    detail = {"name": connector.name, "url": connector.url} | audit.via(by)
    audit.record(session, user_id=by, action="create", target_type="connector", target_id=connector.id, detail=detail)
    return connector


def update_connector(
    session: Session,
    clients: ConnectorClients,
    connector: SyncConnector,
    *,
    name: str | None = None,
    url: str | None = None,
    secret: str | None = None,
    by: int | None = None,
) -> SyncConnector:
    """Change name, URL or secret; a new URL or secret is probed before anything is saved."""
    new_url = check_url(url, https_required=clients.https_required) if url is not None else connector.url
    if name is not None:
        _clean_name(name)
    if url is not None or secret:
        new_secret = check_secret(secret) if secret else clients.cipher.decrypt(connector.secret_encrypted)
        # End the transaction that read the connector: none stays open (on SQLite: the write lock) while it answers.
        session.rollback()
        info = probe_info(clients, new_url, new_secret)
        connector.info_json = info_json(info)
        connector.url = new_url
        connector.secret_encrypted = clients.cipher.encrypt(new_secret)
    if name is not None:
        connector.name = _check_name(session, name, exclude_id=connector.id)
    session.flush()
    changed = [part for part, value in (("name", name), ("url", url), ("secret", secret)) if value]
    audit.record(
        session,
        user_id=by,
        action="update",
        target_type="connector",
        target_id=connector.id,
        detail={"changed": changed} | audit.via(by),
    )
    return connector


def check_deletable(session: Session, connector: SyncConnector) -> None:
    """``ConflictError`` while connections (deleted ones too: they can be restored) use the connector."""
    users = session.scalar(select(func.count()).where(ErpConnection.connector_id == connector.id))
    if users:
        used = "1 connection; delete it first" if users == 1 else f"{users} connections; delete those first"
        raise ConflictError(f"connector {connector.name!r} is used by {used}")


def delete_connector(session: Session, connector: SyncConnector, *, by: int | None = None) -> None:
    check_deletable(session, connector)
    detail = {"name": connector.name} | audit.via(by)
    audit.record(session, user_id=by, action="delete", target_type="connector", target_id=connector.id, detail=detail)
    session.delete(connector)
    session.flush()


def info_json(info: m.InfoResponse) -> dict[str, Any]:
    return info.model_dump(mode="json", include={"name", "version", "protocol_version", "capabilities"})
