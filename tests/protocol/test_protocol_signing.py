"""Request signing: HMAC-SHA256 of timestamp.body, refused when missing, wrong or stale."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from erpsync.protocol.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, sign, signed_headers, verify

SECRET = "signing-test-secret-0123456789"
BODY = b'{"connection_id":"c1"}'
NOW = 1_717_236_000.0


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1717236000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1717236000", BODY) == expected


def test_signed_headers_verify() -> None:
    headers = signed_headers(SECRET, BODY, now=NOW)
    assert headers[TIMESTAMP_HEADER] == "1717236000"
    verify(SECRET, timestamp=headers[TIMESTAMP_HEADER], signature=headers[SIGNATURE_HEADER], body=BODY, now=NOW + 300)


@pytest.mark.parametrize(
    ("secret", "body", "now", "reason"),
    [
        ("another-secret-0123456789", BODY, NOW, "does not match"),
        (SECRET, BODY + b" ", NOW, "does not match"),
        (SECRET, BODY, NOW + 301, "stale"),
        (SECRET, BODY, NOW - 301, "stale"),
    ],
    ids=["wrong-secret", "tampered-body", "stale", "future"],
)
def test_wrong_or_stale_signatures_are_refused(secret: str, body: bytes, now: float, reason: str) -> None:
    headers = signed_headers(SECRET, BODY, now=NOW)
    with pytest.raises(SignatureError, match=reason):
        verify(secret, timestamp=headers[TIMESTAMP_HEADER], signature=headers[SIGNATURE_HEADER], body=body, now=now)


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "abc", "not signed"),
        ("1717236000", None, "not signed"),
        ("", "", "not signed"),
        ("soon", "abc", "number"),
    ],
)
def test_missing_or_malformed_headers_are_refused(timestamp: str | None, signature: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(SECRET, timestamp=timestamp, signature=signature, body=BODY, now=NOW)
