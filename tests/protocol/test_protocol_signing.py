"""Request signing: v1 (HMAC-SHA256 of timestamp.body) and v2 (bound to method and path, one use per nonce)."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import pytest

from erpsync.protocol.signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_V2_HEADER,
    TIMESTAMP_HEADER,
    MemoryNonceStore,
    NonceStoreFullError,
    ReplayedError,
    SignatureError,
    canonical_v2,
    dual_signed_headers,
    sign,
    sign_v2,
    signed_headers,
    signed_headers_v2,
    verify,
    verify_v2,
)

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


# --- v2: bound to method and path, one use per nonce ----------------------------------------------------------------

PATH = "/v1/test_connection"
NONCE = "0123456789abcdef0123456789abcdef"


def v2_headers(**overrides: object) -> dict[str, str]:
    arguments: dict[str, Any] = {"path": PATH, "now": NOW, "nonce": NONCE, **overrides}
    return signed_headers_v2(SECRET, BODY, **arguments)


def verify_headers(
    headers: dict[str, str],
    *,
    nonces: MemoryNonceStore,
    method: str = "POST",
    path: str = PATH,
    body: bytes = BODY,
    now: float = NOW,
) -> None:
    verify_v2(
        SECRET,
        method=method,
        path=path,
        timestamp=headers.get(TIMESTAMP_HEADER),
        nonce=headers.get(NONCE_HEADER),
        signature=headers.get(SIGNATURE_V2_HEADER),
        body=body,
        nonces=nonces,
        now=now,
    )


def test_v2_signs_the_canonical_message() -> None:
    message = canonical_v2(method="POST", path=PATH, timestamp="1717236000", nonce=NONCE, body=BODY)
    assert message == b"erpsync-v2\nPOST\n/v1/test_connection\n1717236000\n" + NONCE.encode() + b"\n" + BODY
    expected = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert sign_v2(SECRET, method="POST", path=PATH, timestamp="1717236000", nonce=NONCE, body=BODY) == expected
    assert v2_headers() == {TIMESTAMP_HEADER: "1717236000", NONCE_HEADER: NONCE, SIGNATURE_V2_HEADER: expected}


def test_v2_headers_carry_a_fresh_random_nonce_each_time() -> None:
    nonces = {signed_headers_v2(SECRET, BODY, path=PATH)[NONCE_HEADER] for _ in range(100)}
    assert len(nonces) == 100
    assert all(re.fullmatch(r"[0-9a-f]{32}", nonce) for nonce in nonces)


def test_a_v2_request_is_accepted_once() -> None:
    nonces = MemoryNonceStore()
    headers = v2_headers()
    verify_headers(headers, nonces=nonces)
    with pytest.raises(ReplayedError, match="replayed"):
        verify_headers(headers, nonces=nonces, now=NOW + 299)
    assert len(nonces) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"path": "/v1/delete_connection"}, "does not match"),
        ({"method": "PUT"}, "does not match"),
        ({"body": BODY + b" "}, "does not match"),
        ({"now": NOW + 301}, "stale"),
        ({"now": NOW - 301}, "stale"),
    ],
    ids=["other-operation", "other-method", "other-body", "stale", "future"],
)
def test_a_v2_signature_is_bound_to_its_request(change: dict[str, Any], reason: str) -> None:
    nonces = MemoryNonceStore()
    with pytest.raises(SignatureError, match=reason):
        verify_headers(v2_headers(), nonces=nonces, **change)
    assert len(nonces) == 0  # a refused request uses up no nonce


@pytest.mark.parametrize("header", [TIMESTAMP_HEADER, NONCE_HEADER])
def test_a_v2_signature_covers_timestamp_and_nonce(header: str) -> None:
    headers = v2_headers()
    changed = {TIMESTAMP_HEADER: "1717236001", NONCE_HEADER: "fedcba9876543210fedcba9876543210"}[header]
    with pytest.raises(SignatureError, match="does not match"):
        verify_headers({**headers, header: changed}, nonces=MemoryNonceStore())


@pytest.mark.parametrize("position", range(64))
def test_a_v2_signature_differing_in_any_one_hex_digit_is_refused(position: int) -> None:
    signature = v2_headers()[SIGNATURE_V2_HEADER]
    for digit in "0123456789abcdef".replace(signature[position], ""):
        forged = signature[:position] + digit + signature[position + 1 :]
        with pytest.raises(SignatureError, match="does not match"):
            verify_headers({**v2_headers(), SIGNATURE_V2_HEADER: forged}, nonces=MemoryNonceStore())


@pytest.mark.parametrize(
    ("drop_or_set", "reason"),
    [
        ({NONCE_HEADER: None}, "no nonce"),
        ({NONCE_HEADER: ""}, "no nonce"),
        ({SIGNATURE_V2_HEADER: None}, "not signed with signing v2"),
        ({TIMESTAMP_HEADER: None}, "no timestamp"),
        ({NONCE_HEADER: "short"}, "nonce must be"),
        ({NONCE_HEADER: "x" * 65}, "nonce must be"),
        ({NONCE_HEADER: "0123456789abcdef\n0123456789abcdef"}, "nonce must be"),
        ({SIGNATURE_V2_HEADER: "A" * 64}, "lowercase hex"),
        ({SIGNATURE_V2_HEADER: "ü" * 64}, "lowercase hex"),
        ({TIMESTAMP_HEADER: "-1717236000"}, "number"),
    ],
)
def test_missing_or_malformed_v2_headers_are_refused(drop_or_set: dict[str, str | None], reason: str) -> None:
    headers = {**v2_headers(), **drop_or_set}
    with pytest.raises(SignatureError, match=reason):
        verify_headers({k: v for k, v in headers.items() if v is not None}, nonces=MemoryNonceStore())


def test_a_v1_signature_with_odd_characters_is_refused_not_crashed() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, timestamp="1717236000", signature="ü" * 64, body=BODY, now=NOW)


def test_the_canonical_message_has_one_reading() -> None:
    for method, path in (("PO\nST", PATH), ("POST", "/v1/a\nb"), ("post", PATH), ("POST", "v1/no-slash")):
        with pytest.raises(SignatureError, match="not valid for signing v2"):
            canonical_v2(method=method, path=path, timestamp="1", nonce=NONCE, body=BODY)


def test_dual_headers_verify_as_v1_and_as_v2() -> None:
    headers = dual_signed_headers(SECRET, BODY, path=PATH, now=NOW)
    verify(SECRET, timestamp=headers[TIMESTAMP_HEADER], signature=headers[SIGNATURE_HEADER], body=BODY, now=NOW)
    verify_headers(headers, nonces=MemoryNonceStore())


def test_the_nonce_store_forgets_a_nonce_only_after_its_window() -> None:
    nonces = MemoryNonceStore()
    assert nonces.claim("a" * 16, expires_at=NOW + 300, now=NOW)
    assert not nonces.claim("a" * 16, expires_at=NOW + 600, now=NOW + 300)  # still in the window
    assert nonces.claim("b" * 16, expires_at=NOW + 700, now=NOW + 300.5)  # the first one expired meanwhile
    assert len(nonces) == 1
    assert nonces.claim("a" * 16, expires_at=NOW + 700, now=NOW + 301)


def test_a_full_nonce_store_refuses_instead_of_forgetting_a_live_nonce() -> None:
    nonces = MemoryNonceStore(capacity=2)
    assert nonces.claim("a" * 16, expires_at=NOW + 300, now=NOW)
    assert nonces.claim("b" * 16, expires_at=NOW + 310, now=NOW)
    with pytest.raises(NonceStoreFullError) as full:
        nonces.claim("c" * 16, expires_at=NOW + 320, now=NOW + 100)
    assert full.value.retry_after == 200
    assert not nonces.claim("a" * 16, expires_at=NOW + 320, now=NOW + 100)  # the live nonces were all kept
    assert nonces.claim("c" * 16, expires_at=NOW + 620, now=NOW + 301)
