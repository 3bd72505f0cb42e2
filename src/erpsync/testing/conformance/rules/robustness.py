"""Rules on hostile input: each refusal has the exact status and error_code of docs/protocol.md, in the check order
(405, 404, 413, 401, 400, 422), never a 200 ``ok:false``, a 5xx or a hang, and a refused request changes nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from erpsync.errors import ErrorCode
from erpsync.protocol import models as m
from erpsync.protocol.signing import MAX_AGE_SECONDS
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import Evidence, Rule
from erpsync.testing.conformance.rules.connections import expect_unknown
from erpsync.testing.conformance.samples import create_samples, name_field, subject_type
from erpsync.testing.conformance.wire import Answer, Wire

OVERSIZED_BYTES = 5 * 1024 * 1024
HeadersFor = Callable[[str, bytes], dict[str, str]]


def expect_refusal(evidence: Evidence, answer: Answer, *, status: int, code: ErrorCode, doing: str) -> bool:
    """The exact HTTP status with an error envelope: ``ok: false`` and ``error_code``."""
    document = answer.document or {}
    refused = answer.status == status and document.get("ok") is False and answer.error_code == code
    return evidence.expect(
        refused, f"{doing}: expected HTTP {status} with ok:false and error_code {code!s}; got {answer.describe()}"
    )


def check_signatures(ctx: Context, evidence: Evidence) -> None:
    for label, headers_for in _bad_signatures(ctx.wire).items():
        connection_id = str(uuid.uuid4())
        body = json.dumps({"connection_id": connection_id, "config": ctx.config}).encode()
        answer = ctx.wire.send("save_connection", body, headers=headers_for("save_connection", body))
        expect_refusal(evidence, answer, status=401, code=ErrorCode.AUTH, doing=f"{label} save_connection")
        after = ctx.wire.call("test_connection", {"connection_id": connection_id})
        expect_unknown(evidence, after, doing=f"test_connection after a {label} save_connection")
        info = ctx.wire.send("info", b"{}", headers=headers_for("info", b"{}"))
        expect_refusal(evidence, info, status=401, code=ErrorCode.AUTH, doing=f"{label} info")
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


@dataclass(frozen=True)
class BadRequest:
    label: str
    operation: str
    body: bytes
    status: int
    signed: bool = True
    method: str = "POST"

    @property
    def code(self) -> ErrorCode:
        return ErrorCode.AUTH if self.status == 401 else ErrorCode.VALIDATION


def check_bad_input(ctx: Context, evidence: Evidence) -> None:
    for bad in _bad_requests(ctx):
        headers = ctx.wire.signed(bad.operation, bad.body) if bad.signed else {}
        try:
            answer = ctx.wire.send(bad.operation, bad.body, headers=headers, method=bad.method)
        except httpx.TimeoutException:
            evidence.problems.append(f"{bad.label}: no answer within {ctx.wire.timeout:g} s")
            continue
        doing = f"{bad.label} ({bad.method} {bad.operation})"
        if expect_refusal(evidence, answer, status=bad.status, code=bad.code, doing=doing):
            evidence.note(f"{bad.label}: HTTP {answer.status}")


def _bad_requests(ctx: Context) -> list[BadRequest]:
    def on_connection(**members: object) -> bytes:
        return json.dumps(ctx.on_connection(**members)).encode()

    restriction = {"field": "name", "operator": "~~", "values": ["x"]}
    oversized = on_connection(actor_type="customer", text="x" * OVERSIZED_BYTES, field_keys=[])
    return [
        BadRequest("GET instead of POST", "test_connection", b"", 405, method="GET"),
        BadRequest("an unknown operation", "drop_everything", on_connection(), 404),
        BadRequest(
            "an unknown operation, unsigned (404 comes before 401)", "drop_everything", on_connection(), 404, False
        ),
        BadRequest("an oversized body", "search_actors", oversized, 413),
        BadRequest("an oversized body, unsigned (413 comes before 401)", "search_actors", oversized, 413, False),
        BadRequest("malformed JSON, unsigned (401 comes before 400)", "get_actors", b'{"connection_id": ', 401, False),
        BadRequest("malformed JSON", "get_actors", b'{"connection_id": ', 400),
        BadRequest("a JSON array body", "test_connection", b"[1, 2]", 400),
        BadRequest("an empty body", "test_connection", b"", 400),
        BadRequest("a missing member", "test_connection", b"{}", 422),
        BadRequest("wrong types", "get_actors", on_connection(actor_type="customer", erp_keys="k1", field_keys=7), 422),
        BadRequest(
            "a string for an integer", "changes", on_connection(actor_type="customer", field_keys=[], limit="5"), 422
        ),
        BadRequest(
            "a limit out of range",
            "search_actors",
            on_connection(actor_type="customer", text="", field_keys=[], limit=0),
            422,
        ),
        BadRequest("an actor type outside the fixed set", "actor_fields", on_connection(actor_type="dragon"), 422),
        BadRequest(
            "an unknown operator",
            "search_advanced",
            on_connection(actor_type="customer", restrictions=[restriction], field_keys=[]),
            422,
        ),
    ]


def check_unknown_members(ctx: Context, evidence: Evidence) -> None:
    """422 for an unknown member at the top level, in an actor and in a restriction; a refused save changes nothing."""
    actor_type = subject_type(ctx)
    tag_field = name_field(ctx, actor_type)
    record = create_samples(ctx, actor_type, purpose="members", count=1)[0]
    before = _stored_name(ctx, actor_type, str(record.erp_key), tag_field)
    changed = {"actor_type": actor_type, "erp_key": record.erp_key, "fields": {tag_field: f"renamed {ctx.tag}"}}
    restriction = {"field": tag_field, "operator": "contains", "values": [ctx.tag], "surprise": True}
    new_actor = {"actor_type": actor_type, "fields": {tag_field: f"never {ctx.tag}"}, "surprise": True}
    cases = [
        ("at the top level", "test_connection", ctx.on_connection(surprise=True)),
        ("in a save_actors actor", "save_actors", ctx.on_connection(actors=[{**changed, "surprise": True}])),
        (
            "in a search_advanced restriction",
            "search_advanced",
            ctx.on_connection(actor_type=actor_type, restrictions=[restriction], field_keys=[]),
        ),
        (
            "in a create_actor actor",
            "create_actor",
            ctx.on_connection(actor=new_actor, idempotency_key=f"{ctx.tag}-members"),
        ),
    ]
    for where, operation, payload in cases:
        body = json.dumps(payload).encode()
        answer = ctx.wire.send(operation, body, headers=ctx.wire.signed(operation, body))
        if answer.ok and operation == "create_actor":
            _remember_created(ctx, answer)
        expect_refusal(evidence, answer, status=422, code=ErrorCode.VALIDATION, doing=f"an unknown member {where}")
    after = _stored_name(ctx, actor_type, str(record.erp_key), tag_field)
    evidence.expect(after == before, f"a refused save_actors changed {tag_field} from {before!r} to {after!r}")


def _remember_created(ctx: Context, answer: Answer) -> None:
    actor = (answer.document or {}).get("actor")
    if isinstance(actor, dict) and isinstance(actor.get("erp_key"), str):
        ctx.created.append((m.ActorType(actor["actor_type"]), actor["erp_key"]))


def _stored_name(ctx: Context, actor_type: m.ActorType, erp_key: str, field_key: str) -> m.Value:
    payload = ctx.on_connection(actor_type=actor_type, erp_keys=[erp_key], field_keys=[field_key])
    actors = ctx.request("get_actors", payload, m.GetActorsResponse).actors
    return actors[0].fields.get(field_key) if actors else None


RULES = (
    Rule(
        "signatures",
        "unsigned, wrongly signed, stale and tampered requests are refused with 401 auth and have no effect",
        check_signatures,
    ),
    Rule(
        "bad_input",
        "each malformed request gets its exact status (405, 404, 413, 401, 400, 422) in check order, never 200",
        check_bad_input,
    ),
    Rule(
        "unknown_members",
        "an unknown member at any depth (top, actor, restriction) is refused with 422 and changes nothing",
        check_unknown_members,
    ),
)
