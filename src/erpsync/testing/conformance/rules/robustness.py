"""Rules on hostile input: bad signatures are refused without effect, bad requests never get a 5xx or a hang."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import httpx

from erpsync.errors import ErrorCode
from erpsync.protocol.signing import MAX_AGE_SECONDS
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import Evidence, Rule
from erpsync.testing.conformance.rules.connections import expect_unknown
from erpsync.testing.conformance.wire import Answer, Wire

OVERSIZED_BYTES = 5 * 1024 * 1024
HeadersFor = Callable[[str, bytes], dict[str, str]]


def check_signatures(ctx: Context, evidence: Evidence) -> None:
    for label, headers_for in _bad_signatures(ctx.wire).items():
        connection_id = str(uuid.uuid4())
        body = json.dumps({"connection_id": connection_id, "config": ctx.config}).encode()
        answer = ctx.wire.send("save_connection", body, headers=headers_for("save_connection", body))
        evidence.expect(_refused(answer), f"{label} save_connection was not refused: {answer.describe()}")
        after = ctx.wire.call("test_connection", {"connection_id": connection_id})
        expect_unknown(evidence, after, doing=f"test_connection after a {label} save_connection")
        info = ctx.wire.send("info", b"{}", headers=headers_for("info", b"{}"))
        evidence.expect(_refused(info), f"{label} info was not refused: {info.describe()}")
        evidence.note(f"{label}: refused")


def _bad_signatures(wire: Wire) -> dict[str, HeadersFor]:
    """Bad requests in the signing version the connector is spoken to with."""
    wire.negotiate()
    stale = time.time() - MAX_AGE_SECONDS - 60
    return {
        "unsigned": lambda operation, body: {},
        "wrongly signed": lambda operation, body: wire.signed(operation, body, secret=f"not-{wire.secret}"),
        "stale": lambda operation, body: wire.signed(operation, body, now=stale),
        "tampered (signed for another body)": lambda operation, body: wire.signed(operation, body + b" "),
    }


def _refused(answer: Answer) -> bool:
    return 400 <= answer.status < 500 or (not answer.ok and answer.error_code == ErrorCode.AUTH)


def check_bad_input(ctx: Context, evidence: Evidence) -> None:
    for label, operation, body in _bad_requests(ctx):
        try:
            answer = ctx.wire.send(operation, body, headers=ctx.wire.signed(operation, body))
        except httpx.TimeoutException:
            evidence.problems.append(f"{label}: no answer within {ctx.wire.timeout:g} s")
            continue
        rejected = 400 <= answer.status < 500 or (not answer.ok and answer.error_code == ErrorCode.VALIDATION)
        evidence.expect(
            rejected, f"{label} ({operation}): expected a 4xx or ok:false with validation; got {answer.describe()}"
        )
        evidence.note(f"{label}: HTTP {answer.status}")


def _bad_requests(ctx: Context) -> list[tuple[str, str, bytes]]:
    def on_connection(**members: object) -> bytes:
        return json.dumps(ctx.on_connection(**members)).encode()

    restriction = {"field": "name", "operator": "~~", "values": ["x"]}
    return [
        ("malformed JSON", "get_actors", b'{"connection_id": '),
        ("a JSON array body", "test_connection", b"[1, 2]"),
        ("an empty body", "test_connection", b""),
        ("wrong types", "get_actors", on_connection(actor_type="customer", erp_keys="k1", field_keys=7)),
        ("an unknown member", "test_connection", on_connection(surprise=True)),
        ("an unknown actor type", "actor_fields", on_connection(actor_type="dragon")),
        (
            "an unknown operator",
            "search_advanced",
            on_connection(actor_type="customer", restrictions=[restriction], field_keys=[]),
        ),
        (
            "an oversized body",
            "search_actors",
            on_connection(actor_type="customer", text="x" * OVERSIZED_BYTES, field_keys=[]),
        ),
        ("an unknown operation", "drop_everything", on_connection()),
    ]


RULES = (
    Rule(
        "signatures",
        "unsigned, wrongly signed, stale and tampered requests are refused and have no effect",
        check_signatures,
    ),
    Rule("bad_input", "bad input gets a 4xx or ok:false validation, never a 5xx or a hang", check_bad_input),
)
