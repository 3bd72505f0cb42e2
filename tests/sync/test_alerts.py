"""Alerts against a real local SMTP server (aiosmtpd) and a real HTTP webhook receiver: one alert per new cause with a
digest, never one per record; one recovery notice when the cause is gone; the webhook signed (HMAC-SHA256 over
timestamp and body); a mail server that is down recorded, not raised into the sync."""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request, Response
from sqlalchemy import select, text

from erpsync import worker
from erpsync.crypto import Cipher
from erpsync.errors import ErrorCode
from erpsync.protocol import signing
from erpsync.storage.db import Database
from erpsync.storage.tables import AlertCause, AlertDelivery, ErpConnection, ErpLink, SyncConnector, utcnow
from erpsync.sync import alerts, links
from erpsync.sync.alert_settings import (
    AlertSettingsInput,
    Channel,
    RecipientInput,
    SmtpSecurity,
    add_recipient,
    read_settings,
    save_settings,
)
from erpsync.testing.server import free_port, serve_in_thread
from support.sync_world import World

SECRET = "webhook-signing-secret"


@dataclass
class Inbox:
    """What the local SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, _class=EmailMessage, policy=policy.default))
        return "250 OK"


@dataclass
class Receiver:
    """What the local webhook receiver got, each body with whether its signature verified."""

    url: str = ""
    received: list[tuple[dict[str, Any], bool]] = field(default_factory=list)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        try:
            signing.verify(
                SECRET,
                timestamp=request.headers.get(signing.TIMESTAMP_HEADER),
                signature=request.headers.get(signing.SIGNATURE_HEADER),
                body=body,
            )
            verified = True
        except signing.SignatureError:
            verified = False
        got.received.append((json.loads(body), verified))
        return Response(status_code=204)

    with serve_in_thread(app) as url:
        got.url = f"{url}/hook"
        yield got


def _connection(database: Database) -> int:
    with database.session() as session:
        connector = SyncConnector(name="c", url="http://127.0.0.1:1", secret_encrypted="x")
        session.add(connector)
        session.flush()
        connection = ErpConnection(uuid="u-1", name="Nordic Trading", connector_id=connector.id)
        session.add(connection)
        session.flush()
        return connection.id


def _fail(database: Database, connection_id: int, count: int, message: str, *, start: int = 0) -> list[int]:
    """``count`` records failing with ``message`` (``{n}`` replaced by each record's own number)."""
    now = utcnow()
    with database.session() as session:
        rows = [
            ErpLink(
                connection_id=connection_id,
                entity_type="company",
                entity_id=n,
                actor_type="customer",
                erp_key=f"C{n}",
                agreed_json={},
                state="ok",
                attempts=0,
            )
            for n in range(start, start + count)
        ]
        session.add_all(rows)
        session.flush()
        for row in rows:
            links.mark_failed(row, ErrorCode.VALIDATION, message.format(n=row.entity_id), now=now)
        return [row.id for row in rows]


def _heal(database: Database, ids: list[int]) -> None:
    with database.session() as session:
        for link in session.scalars(select(ErpLink).where(ErpLink.id.in_(ids))):
            links.mark_synced(link, {}, now=utcnow())


@pytest.fixture
def cipher() -> Cipher:
    return Cipher(Fernet.generate_key())


def _set_up(database: Database, cipher: Cipher, smtp_port: int, webhook_url: str) -> int:
    connection_id = _connection(database)
    with database.sessions() as session:
        settings = AlertSettingsInput(
            smtp_host="127.0.0.1", smtp_port=smtp_port, from_address="erpsync@example.com", webhook_secret=SECRET
        )
        save_settings(session, cipher, settings, user=None)
        for recipient in (
            RecipientInput(channel=Channel.EMAIL, target="ops@example.com"),
            RecipientInput(channel=Channel.WEBHOOK, target=webhook_url),
        ):
            add_recipient(session, connection_id, recipient, user=None)
    return connection_id


def test_500_failures_of_one_cause_make_one_alert_and_its_end_one_recovery_notice(
    database: Database, cipher: Cipher, inbox: tuple[Inbox, int], receiver: Receiver
) -> None:
    mails, smtp_port = inbox
    connection_id = _set_up(database, cipher, smtp_port, receiver.url)
    failing = _fail(database, connection_id, 500, "VAT number 'DK{n}' of customer {n} is not valid")

    first = alerts.notify(database, cipher, connection_id)
    assert (len(first.alerted), first.deliveries, first.failed) == (1, 2, 0)
    assert len(mails.messages) == 1
    mail = mails.messages[0]
    assert mail["To"] == "ops@example.com"
    assert "Nordic Trading: 1 new problem" in mail["Subject"]
    assert '500 record(s), validation: VAT number "…" of customer # is not valid' in mail.get_content()
    [(payload, verified)] = receiver.received
    assert verified
    assert payload["event"] == "alert"
    assert payload["causes"][0]["records"] == 500

    more = _fail(database, connection_id, 20, "VAT number 'DK{n}' of customer {n} is not valid", start=1000)
    assert alerts.notify(database, cipher, connection_id).deliveries == 0  # the same cause: told already
    assert (len(mails.messages), len(receiver.received)) == (1, 1)

    _heal(database, failing + more)
    recovered = alerts.notify(database, cipher, connection_id)
    assert (len(recovered.recovered), recovered.deliveries) == (1, 2)
    assert len(mails.messages) == 2
    assert "1 problem(s) resolved" in mails.messages[1]["Subject"]
    assert receiver.received[1][0]["event"] == "recovery"
    assert receiver.received[1][1]

    assert alerts.notify(database, cipher, connection_id).deliveries == 0
    assert (len(mails.messages), len(receiver.received)) == (2, 2)


def test_a_new_cause_is_told_again_and_each_recipient_gets_what_it_asked_for(
    database: Database, cipher: Cipher, inbox: tuple[Inbox, int], receiver: Receiver
) -> None:
    mails, smtp_port = inbox
    connection_id = _connection(database)
    with database.sessions() as session:
        save_settings(
            session,
            cipher,
            AlertSettingsInput(smtp_host="127.0.0.1", smtp_port=smtp_port, from_address="erpsync@example.com"),
            user=None,
        )
        add_recipient(
            session,
            connection_id,
            RecipientInput(channel=Channel.EMAIL, target="a@example.com", on_recovery=False),
            user=None,
        )
        add_recipient(
            session,
            connection_id,
            RecipientInput(channel=Channel.EMAIL, target="b@example.com", on_alert=False),
            user=None,
        )
    first = _fail(database, connection_id, 3, "customer {n} is locked")
    alerts.notify(database, cipher, connection_id)
    _fail(database, connection_id, 2, "name is required", start=100)
    alerts.notify(database, cipher, connection_id)
    _heal(database, first)
    alerts.notify(database, cipher, connection_id)
    told = [(m["To"], m["Subject"].split(": ", 1)[1]) for m in mails.messages]
    assert told == [
        ("a@example.com", "1 new problem(s)"),
        ("a@example.com", "1 new problem(s)"),
        ("b@example.com", "1 problem(s) resolved"),
    ]
    assert receiver.received == []


def test_a_mail_server_that_is_down_is_recorded_and_the_cause_is_not_told_twice(
    database: Database, cipher: Cipher, receiver: Receiver
) -> None:
    connection_id = _set_up(database, cipher, free_port(), receiver.url)  # nothing listens on that port
    _fail(database, connection_id, 50, "customer {n} is locked")
    notified = alerts.notify(database, cipher, connection_id)
    assert (notified.deliveries, notified.failed) == (2, 1)
    with database.read_session() as session:
        deliveries = {d.channel: d for d in session.scalars(select(AlertDelivery))}
    assert not deliveries["email"].ok
    assert "not sent" in (deliveries["email"].error or "")
    assert deliveries["webhook"].ok
    assert alerts.notify(database, cipher, connection_id).deliveries == 0


def test_secrets_are_stored_encrypted_and_never_shown(database: Database, cipher: Cipher) -> None:
    with database.sessions() as session:
        view = save_settings(
            session, cipher, AlertSettingsInput(smtp_password="hunter22", webhook_secret=SECRET), user=None
        )
        assert (view.smtp_password_set, view.webhook_secret_set) == (True, True)
        assert "hunter22" not in view.model_dump_json()
        kept = save_settings(session, cipher, AlertSettingsInput(smtp_host="mail.example.com"), user=None)
        assert kept.smtp_password_set  # None keeps the stored password
        with database.engine.connect() as raw:
            stored = raw.execute(text("SELECT * FROM alert_settings")).one()
        assert "hunter22" not in str(stored)
        assert SECRET not in str(stored)
        cleared = save_settings(session, cipher, AlertSettingsInput(smtp_password=""), user=None)
        assert not cleared.smtp_password_set
        assert read_settings(session).webhook_secret_set


def test_the_worker_tells_after_a_run_and_a_failing_channel_never_fails_the_run(
    world: World, inbox: tuple[Inbox, int]
) -> None:
    mails, smtp_port = inbox
    cipher = world.clients.cipher
    with world.database.sessions() as session:
        settings = AlertSettingsInput(smtp_host="127.0.0.1", smtp_port=smtp_port, from_address="hub@example.com")
        save_settings(session, cipher, settings, user=None)
        for target in ("ops@example.com", "http://127.0.0.1:1/hook"):  # the webhook: no secret set, nothing listens
            channel = Channel.EMAIL if "@" in target else Channel.WEBHOOK
            add_recipient(session, world.connection_id, RecipientInput(channel=channel, target=target), user=None)
    _fail(world.database, world.connection_id, 30, "customer {n} is locked", start=10_000)
    summary = worker.sync_connection_task(world.engine, world.connection_id)
    assert summary is not None
    assert summary.status == "ok"
    assert len(mails.messages) == 1
    with world.database.read_session() as session:
        outcomes = sorted((d.channel, d.ok) for d in session.scalars(select(AlertDelivery)))
    assert outcomes == [("email", True), ("webhook", False)]


def test_deliveries_and_resolved_causes_are_forgotten_after_90_days(
    database: Database, cipher: Cipher, receiver: Receiver
) -> None:
    connection_id = _set_up(database, cipher, free_port(), receiver.url)
    failing = _fail(database, connection_id, 5, "customer {n} is locked")
    alerts.notify(database, cipher, connection_id)
    _heal(database, failing)
    alerts.notify(database, cipher, connection_id)
    _fail(database, connection_id, 2, "name is required", start=100)
    alerts.notify(database, cipher, connection_id)  # a cause still open stays, however old
    assert alerts.prune(database) == 0
    later = utcnow() + timedelta(days=91)
    assert alerts.prune(database, now=later) == 6 + 1  # 3 notices x 2 recipients, and the resolved cause
    with database.read_session() as session:
        assert [cause.message for cause in session.scalars(select(AlertCause))] == ["name is required"]


def test_a_digest_names_at_most_50_causes_and_counts_the_rest(
    database: Database, cipher: Cipher, inbox: tuple[Inbox, int], receiver: Receiver
) -> None:
    mails, smtp_port = inbox
    connection_id = _set_up(database, cipher, smtp_port, receiver.url)
    for n in range(55):
        _fail(database, connection_id, 1, f"field_{chr(97 + n % 26)}{chr(97 + n // 26)} is refused", start=n)
    assert len(alerts.notify(database, cipher, connection_id).alerted) == 55
    [mail] = mails.messages
    assert mail.get_content().count("\n- ") == 51
    assert "- and 5 more cause(s)" in mail.get_content()
    [(payload, verified)] = receiver.received
    assert (len(payload["causes"]), payload["more_causes"], verified) == (50, 5, True)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_mail_goes_over_starttls_with_the_stored_password(
    database: Database, cipher: Cipher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_path, key_path = _certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the hub trusts this server as it would a real one
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_path, key_path)
    logins: list[tuple[str, str]] = []

    def authenticator(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"p4ss-word")

    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        connection_id = _connection(database)
        with database.sessions() as session:
            settings = AlertSettingsInput(
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_security=SmtpSecurity.STARTTLS,
                smtp_user="hub",
                smtp_password="p4ss-word",
                from_address="hub@example.com",
            )
            save_settings(session, cipher, settings, user=None)
            add_recipient(
                session, connection_id, RecipientInput(channel=Channel.EMAIL, target="a@example.com"), user=None
            )
        _fail(database, connection_id, 3, "customer {n} is locked")
        notified = alerts.notify(database, cipher, connection_id)
    finally:
        controller.stop()
    assert (notified.deliveries, notified.failed) == (1, 0)
    assert logins == [("hub", "p4ss-word")]
    assert len(inbox.messages) == 1
