"""Request signing (docs/protocol.md "Signing"): HMAC-SHA256 with the shared secret, two versions.

- **v1**: hex HMAC of ``timestamp + "." + body``. It binds neither the operation nor the request: a captured request
  can be sent to another operation with the same body, or again, for as long as its timestamp is fresh. The hub
  uses it only with a connector that declares nothing newer.
- **v2**: hex HMAC of the canonical message ``erpsync-v2 LF method LF path LF timestamp LF nonce LF body``: the
  operation and a random nonce are signed, and the verifier refuses a nonce it has seen within the timestamp window.

Which versions a connector accepts is negotiated through ``info`` (``capabilities.signing``).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import secrets
import threading
import time
from typing import Protocol

TIMESTAMP_HEADER = "X-Erpsync-Timestamp"
SIGNATURE_HEADER = "X-Erpsync-Signature"  # v1
SIGNATURE_V2_HEADER = "X-Erpsync-Signature-V2"
NONCE_HEADER = "X-Erpsync-Nonce"
REFUSAL_HEADER = "X-Erpsync-Refusal"  # on a 401 for a replayed nonce: "replayed"
REPLAYED = "replayed"
MAX_AGE_SECONDS = 300

V1 = "1"
V2 = "2"
KNOWN_VERSIONS = (V1, V2)
V2_LABEL = b"erpsync-v2"

_METHOD = re.compile(r"[A-Z]{1,16}")
_PATH = re.compile(r"/[!-~]{0,1023}")  # printable ASCII without spaces: never a line feed inside the message
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class SignatureError(Exception):
    """The request is unsigned, wrongly signed, stale or replayed; the message says which."""


class ReplayedError(SignatureError):
    """The nonce was used already within the window: this exact request was received before."""


class NonceStoreFullError(Exception):
    """The nonce store holds as many live nonces as it may; ``retry_after`` says when one expires."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many signed requests within the replay window")
        self.retry_after = retry_after


# --- v1 -----------------------------------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The v1 signature: hex HMAC-SHA256 of ``timestamp + "." + body``."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The v1 headers for ``body``."""
    timestamp = _timestamp(now)
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
    """Raise ``SignatureError`` unless the request is v1-signed with ``secret`` within ``max_age`` seconds."""
    if not timestamp or not signature:
        raise SignatureError("request is not signed")
    _check_fresh(timestamp, now=now, max_age=max_age)
    if not _same(sign(secret, timestamp, body), signature):
        raise SignatureError("signature does not match")


# --- v2 -----------------------------------------------------------------------------------------------------------


def canonical_v2(*, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The v2 message: the label, method, path, timestamp and nonce, each followed by a line feed, then the body.

    Method, path, timestamp and nonce are checked to hold no line feed, so the message has one reading only.
    """
    for name, value, pattern in (
        ("method", method, _METHOD),
        ("path", path, _PATH),
        ("timestamp", timestamp, _TIMESTAMP),
        ("nonce", nonce, _NONCE),
    ):
        if not pattern.fullmatch(value):
            raise SignatureError(f"{name} {value[:80]!r} is not valid for signing v2")
    head = b"\n".join([V2_LABEL, method.encode(), path.encode(), timestamp.encode(), nonce.encode()])
    return head + b"\n" + body


def sign_v2(secret: str, *, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The v2 signature: lowercase hex HMAC-SHA256 of ``canonical_v2(...)``."""
    message = canonical_v2(method=method, path=path, timestamp=timestamp, nonce=nonce, body=body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """128 random bits as 32 hex digits."""
    return secrets.token_hex(16)


def signed_headers_v2(
    secret: str,
    body: bytes,
    *,
    path: str,
    method: str = "POST",
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The v2 headers for ``body`` sent with ``method`` to ``path`` (``/v1/{operation}``), with a fresh nonce."""
    timestamp = _timestamp(now)
    nonce = nonce or new_nonce()
    signature = sign_v2(secret, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body)
    return {TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce, SIGNATURE_V2_HEADER: signature}


def dual_signed_headers(secret: str, body: bytes, *, path: str, now: float | None = None) -> dict[str, str]:
    """Both v1 and v2 headers (one timestamp), for the first ``info`` before the connector's versions are known."""
    v2 = signed_headers_v2(secret, body, path=path, now=now)
    return {**v2, SIGNATURE_HEADER: sign(secret, v2[TIMESTAMP_HEADER], body)}


class NonceStore(Protocol):
    """Remembers the nonces of accepted v2 requests until their timestamp leaves the window."""

    def claim(self, nonce: str, *, expires_at: float, now: float) -> bool:
        """True the first time ``nonce`` is seen (it is then kept until ``expires_at``); False while it is kept.

        May raise ``NonceStoreFullError`` rather than forget a live nonce.
        """
        ...


class MemoryNonceStore:
    """A ``NonceStore`` in this process's memory, holding at most ``capacity`` live nonces.

    A nonce is forgotten only once its timestamp is out of the window, when the timestamp check refuses a replay
    anyway. When ``capacity`` live nonces are held it refuses new ones (``NonceStoreFullError``) instead of evicting
    a live one, which would open a replay.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("a nonce store needs room for at least one nonce")
        self._capacity = capacity
        self._live: set[str] = set()
        self._expiries: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)

    def claim(self, nonce: str, *, expires_at: float, now: float) -> bool:
        with self._lock:
            while self._expiries and self._expiries[0][0] < now:
                _, old = heapq.heappop(self._expiries)
                self._live.discard(old)
            if nonce in self._live:
                return False
            if len(self._live) >= self._capacity:
                raise NonceStoreFullError(retry_after=max(1.0, self._expiries[0][0] - now))
            self._live.add(nonce)
            heapq.heappush(self._expiries, (expires_at, nonce))
            return True


def verify_v2(  # noqa: PLR0913 - the parts of a signed request, each by keyword, as sign_v2 takes them
    secret: str,
    *,
    method: str,
    path: str,
    timestamp: str | None,
    nonce: str | None,
    signature: str | None,
    body: bytes,
    nonces: NonceStore,
    now: float | None = None,
    max_age: int = MAX_AGE_SECONDS,
) -> None:
    """Raise ``SignatureError`` unless the request is v2-signed with ``secret`` for ``method`` and ``path``, fresh,
    and its nonce was not seen within the window; an accepted nonce is then remembered in ``nonces``.

    ``NonceStoreFullError`` passes through: the request may be sent again (with a new nonce) later.
    """
    if not signature:
        raise SignatureError(f"request is not signed with signing v2 ({SIGNATURE_V2_HEADER})")
    if not timestamp:
        raise SignatureError(f"request has no timestamp ({TIMESTAMP_HEADER})")
    if not nonce:
        raise SignatureError(f"request has no nonce ({NONCE_HEADER})")
    if not _NONCE.fullmatch(nonce):
        raise SignatureError("nonce must be 16 to 64 letters, digits, '-' or '_'")
    if not _HEX_SIGNATURE.fullmatch(signature):
        raise SignatureError("signature must be 64 lowercase hex digits")
    current = time.time() if now is None else now
    sent_at = _check_fresh(timestamp, now=current, max_age=max_age)
    expected = sign_v2(secret, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body)
    if not _same(expected, signature):
        raise SignatureError("signature does not match")
    if not nonces.claim(nonce, expires_at=sent_at + max_age, now=current):
        raise ReplayedError("request replayed: its nonce was used already")


# --- shared -------------------------------------------------------------------------------------------------------


def _timestamp(now: float | None) -> str:
    return str(int(time.time() if now is None else now))


def _check_fresh(timestamp: str, *, now: float | None, max_age: int) -> int:
    """The timestamp in seconds, or ``SignatureError`` when it is not a number or further than ``max_age`` away."""
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("timestamp is not a number of seconds")
    sent_at = int(timestamp)
    current = time.time() if now is None else now
    if abs(current - sent_at) > max_age:
        raise SignatureError(f"request is stale (older than {max_age} seconds) or from the future")
    return sent_at


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII input (a header may carry any byte)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))
