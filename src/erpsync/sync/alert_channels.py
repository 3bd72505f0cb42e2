"""How an alert leaves the hub: a plain-text mail through the SMTP server of the alert settings, or a JSON webhook
signed with HMAC-SHA256 over its body and timestamp (``protocol.signing``'s v1 primitives: the receiver checks the
``X-Erpsync-Timestamp`` and ``X-Erpsync-Signature`` headers with the shared secret). Both within the settings'
timeout; each raises ``DeliveryError`` with what went wrong, and the caller records it.

Public names: ``DeliveryError``, ``Smtp``, ``send_mail``, ``post_webhook``.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from erpsync.errors import ValidationError
from erpsync.protocol import signing
from erpsync.sync.webhook_urls import WebhookPolicy

USER_AGENT = "erpsync-alerts/1"


class DeliveryError(Exception):
    """The mail or the webhook did not arrive; the message says why (never a secret)."""


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: str  # none, starttls, tls
    user: str
    password: str | None
    from_address: str
    timeout: float


def _connect(smtp: Smtp) -> smtplib.SMTP:
    if smtp.security == "tls":
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context())
    client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    if smtp.security == "starttls":
        client.starttls(context=ssl.create_default_context())
    return client


def send_mail(smtp: Smtp, to: Sequence[str], subject: str, body: str) -> None:
    if not smtp.host or not smtp.from_address:
        raise DeliveryError("no SMTP server or sender address is set in the alert settings")
    message = EmailMessage()
    message["From"] = smtp.from_address
    message["To"] = ", ".join(to)
    message["Subject"] = " ".join(subject.split())  # one line: nothing from a name can add a header
    message.set_content(body)
    try:
        with _connect(smtp) as client:
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"the mail was not sent: {type(error).__name__}: {error}") from None


def post_webhook(
    url: str, secret: str | None, payload: Mapping[str, Any], *, timeout: float, policy: WebhookPolicy | None = None
) -> None:
    """Post ``payload`` signed; the URL is checked against ``policy`` (the process's settings when None) first, as
    its host may resolve elsewhere than when it was saved."""
    try:
        (policy or WebhookPolicy.current()).check(url)
    except ValidationError as refused:
        raise DeliveryError(f"the webhook was not sent: {refused.user_message}") from None
    if not secret:
        raise DeliveryError("no webhook secret is set in the alert settings: webhooks are sent signed only")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **signing.signed_headers(secret, body)}
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as error:
        raise DeliveryError(f"the webhook was not delivered: {type(error).__name__}: {error}") from None
    if not response.is_success:
        raise DeliveryError(f"the webhook answered HTTP {response.status_code}")
