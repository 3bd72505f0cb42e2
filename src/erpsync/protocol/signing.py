"""Request signing (SPEC §6.1): hex HMAC-SHA256 of ``timestamp + "." + body`` with the shared secret."""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Erpsync-Timestamp"
SIGNATURE_HEADER = "X-Erpsync-Signature"
MAX_AGE_SECONDS = 300


class SignatureError(Exception):
    """The request is unsigned, wrongly signed or stale; the message says which."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    *,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
    max_age: int = MAX_AGE_SECONDS,
) -> None:
    """Raise ``SignatureError`` unless the request is signed with ``secret`` within ``max_age`` seconds."""
    if not timestamp or not signature:
        raise SignatureError("request is not signed")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError("timestamp is not a number of seconds") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > max_age:
        raise SignatureError(f"request is stale (older than {max_age} seconds) or from the future")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise SignatureError("signature does not match")
