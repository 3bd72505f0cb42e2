"""Rules on signing v2, checked when a connector declares it: a signed request is good once, for its own operation,
with its exact signature, and only with a nonce. A connector that declares only v1 gets "not checked".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

from erpsync.protocol.signing import (
    SIGNATURE_V2_HEADER,
    TIMESTAMP_HEADER,
    V2,
    V2_LABEL,
    signed_headers,
)
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import CannotCheckError, Evidence, Rule, RuleFailedError
from erpsync.testing.conformance.rules.connections import expect_unknown
from erpsync.testing.conformance.wire import Answer

FLIPPED_POSITIONS = (0, 31, 63)  # first, middle and last hex digit of the signature


def _require_v2(ctx: Context) -> None:
    if ctx.wire.negotiate() != V2:
        raise CannotCheckError("the connector does not declare signing v2 (info: capabilities.signing)")


def _new_connection(ctx: Context) -> str:
    connection_id = str(uuid.uuid4())
    answer = ctx.wire.call("save_connection", {"connection_id": connection_id, "config": ctx.config})
    if not answer.ok:
        raise RuleFailedError(f"save_connection of the given config did not succeed: {answer.describe()}")
    return connection_id


def _expect_alive(ctx: Context, evidence: Evidence, connection_id: str, *, doing: str) -> None:
    answer = ctx.wire.call("test_connection", {"connection_id": connection_id})
    evidence.expect(answer.ok, f"{doing}, the connection is gone or broken: {answer.describe()}")


def _expect_401(evidence: Evidence, answer: Answer, *, what: str) -> bool:
    return evidence.expect(answer.status == 401, f"{what} was not refused with HTTP 401: {answer.describe()}")


def _body(connection_id: str) -> bytes:
    return json.dumps({"connection_id": connection_id}).encode()


def check_replay(ctx: Context, evidence: Evidence) -> None:
    """The attack: a captured ``delete_connection`` sent again after the connection was saved anew."""
    _require_v2(ctx)
    connection_id = _new_connection(ctx)
    body = _body(connection_id)
    headers = ctx.wire.signed("delete_connection", body)
    first = ctx.wire.send("delete_connection", body, headers=headers)
    evidence.expect(first.ok, f"a correctly signed delete_connection failed: {first.describe()}")
    _new_connection_with_id(ctx, connection_id)
    again = ctx.wire.send("delete_connection", body, headers=headers)
    if _expect_401(evidence, again, what="a replayed delete_connection (same nonce and signature)"):
        evidence.note("replayed delete_connection: HTTP 401")
    _expect_alive(ctx, evidence, connection_id, doing="after a replayed delete_connection")
    info_headers = ctx.wire.signed("info", b"{}")
    ctx.wire.send("info", b"{}", headers=info_headers)
    if _expect_401(evidence, ctx.wire.send("info", b"{}", headers=info_headers), what="a replayed info"):
        evidence.note("replayed info: HTTP 401")
    ctx.wire.call("delete_connection", {"connection_id": connection_id})


def _new_connection_with_id(ctx: Context, connection_id: str) -> None:
    answer = ctx.wire.call("save_connection", {"connection_id": connection_id, "config": ctx.config})
    if not answer.ok:
        raise RuleFailedError(f"save_connection after delete_connection did not succeed: {answer.describe()}")


def check_binding(ctx: Context, evidence: Evidence) -> None:
    """A signature made for one operation, sent unused to another with the same body, is refused."""
    _require_v2(ctx)
    connection_id = _new_connection(ctx)
    body = _body(connection_id)
    headers = ctx.wire.signed("test_connection", body)
    moved = ctx.wire.send("delete_connection", body, headers=headers)
    if _expect_401(evidence, moved, what="a test_connection signature sent to delete_connection"):
        evidence.note("test_connection's signature on delete_connection: HTTP 401")
    _expect_alive(ctx, evidence, connection_id, doing="after delete_connection with test_connection's signature")
    own = ctx.wire.send("test_connection", body, headers=headers)
    evidence.expect(own.ok, f"the same signature on its own operation (test_connection) failed: {own.describe()}")
    info_headers = ctx.wire.signed("info", b"{}")
    moved_info = ctx.wire.send("config_fields", b"{}", headers=info_headers)
    if _expect_401(evidence, moved_info, what="an info signature sent to config_fields (same body)"):
        evidence.note("info's signature on config_fields: HTTP 401")
    ctx.wire.call("delete_connection", {"connection_id": connection_id})


def check_exact_signature(ctx: Context, evidence: Evidence) -> None:
    """A signature with one hex digit changed (first, middle, last) is refused, and its save has no effect."""
    _require_v2(ctx)
    for position in FLIPPED_POSITIONS:
        connection_id = str(uuid.uuid4())
        body = json.dumps({"connection_id": connection_id, "config": ctx.config}).encode()
        headers = ctx.wire.signed("save_connection", body)
        signature = headers[SIGNATURE_V2_HEADER]
        digit = "0" if signature[position] != "0" else "1"
        forged = {**headers, SIGNATURE_V2_HEADER: signature[:position] + digit + signature[position + 1 :]}
        answer = ctx.wire.send("save_connection", body, headers=forged)
        if _expect_401(evidence, answer, what=f"save_connection with hex digit {position} of the signature changed"):
            evidence.note(f"digit {position} changed: HTTP 401")
        after = ctx.wire.call("test_connection", {"connection_id": connection_id})
        expect_unknown(evidence, after, doing=f"test_connection after a save with digit {position} changed")


def check_nonce(ctx: Context, evidence: Evidence) -> None:
    """Without a nonce a request is refused: v2 signed over an empty nonce, and signed with v1 only (a downgrade)."""
    _require_v2(ctx)
    for label, headers_for in (
        ("a v2 signature over an empty nonce, no nonce header", _empty_nonce_headers),
        ("a v1 signature only", lambda secret, body: signed_headers(secret, body)),
    ):
        connection_id = str(uuid.uuid4())
        body = json.dumps({"connection_id": connection_id, "config": ctx.config}).encode()
        answer = ctx.wire.send("save_connection", body, headers=headers_for(ctx.wire.secret, body))
        if _expect_401(evidence, answer, what=f"save_connection with {label}"):
            evidence.note(f"{label}: HTTP 401")
        after = ctx.wire.call("test_connection", {"connection_id": connection_id})
        expect_unknown(evidence, after, doing=f"test_connection after a save with {label}")


def _empty_nonce_headers(secret: str, body: bytes) -> dict[str, str]:
    """What a connector reading a missing nonce as "" would accept (built by hand: the SDK refuses to sign it)."""
    timestamp = str(int(time.time()))
    message = b"\n".join([V2_LABEL, b"POST", b"/v1/save_connection", timestamp.encode(), b""]) + b"\n" + body
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_V2_HEADER: signature}


RULES = (
    Rule(
        "signing_replay",
        "signing v2: a replayed request (same nonce) is refused with 401 and has no effect",
        check_replay,
    ),
    Rule(
        "signing_binding",
        "signing v2: a signature made for one operation is refused with 401 on another",
        check_binding,
    ),
    Rule(
        "signing_exact",
        "signing v2: a signature differing in one hex digit is refused with 401 and has no effect",
        check_exact_signature,
    ),
    Rule(
        "signing_nonce",
        "signing v2: a request without a nonce (v2 over an empty nonce, or v1 only) is refused with 401",
        check_nonce,
    ),
)
