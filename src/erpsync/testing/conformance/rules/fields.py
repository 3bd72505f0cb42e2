"""Rules on fields: ``field_keys`` selects exactly the fields answered, and unknown, read-only and mandatory fields are
enforced on every write; an actor type the connection does not support is ``validation``.
"""

from __future__ import annotations

import uuid
from typing import Any

from erpsync.errors import ErrorCode
from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import Evidence, Rule, RuleFailedError
from erpsync.testing.conformance.samples import (
    create_samples,
    name_field,
    sample_values,
    subject_type,
    value_for,
)
from erpsync.testing.conformance.wire import Answer

_BLANK_AS_TEXT = (m.FieldType.TEXT, m.FieldType.LIST)


def expect_invalid(evidence: Evidence, answer: Answer, *, doing: str) -> bool:
    """HTTP 200 with ok:false and error_code validation."""
    refused = answer.status == 200 and answer.document is not None and not answer.ok
    refused = refused and answer.error_code == ErrorCode.VALIDATION
    return evidence.expect(refused, f"{doing}: expected HTTP 200, ok:false, validation; got {answer.describe()}")


def check_field_keys(ctx: Context, evidence: Evidence) -> None:
    actor_type = subject_type(ctx)
    keys = [str(r.erp_key) for r in create_samples(ctx, actor_type, purpose="fieldkeys", count=2)]
    asked = [name_field(ctx, actor_type)]
    since = min(str(a.last_modified) for a in _get(ctx, actor_type, keys, asked))
    answers = {
        "get_actors": ctx.request(
            "get_actors", ctx.on_connection(actor_type=actor_type, erp_keys=keys, field_keys=asked), m.ActorsResponse
        ),
        "changes": ctx.request(
            "changes", ctx.on_connection(actor_type=actor_type, since=since, field_keys=asked), m.ActorsResponse
        ),
        "search_actors": ctx.request(
            "search_actors",
            ctx.on_connection(actor_type=actor_type, text=f"{ctx.tag} fieldkeys", field_keys=asked),
            m.ActorsResponse,
        ),
    }
    for operation, answer in answers.items():
        wrong = {str(a.erp_key): sorted(a.fields) for a in answer.actors if sorted(a.fields) != asked}
        evidence.expect(not wrong, f"{operation} asked for fields {asked}, answered {wrong}")
    unknown = f"no_such_field_{ctx.tag}"
    for operation, payload in (
        ("get_actors", ctx.on_connection(actor_type=actor_type, erp_keys=keys, field_keys=[unknown])),
        ("changes", ctx.on_connection(actor_type=actor_type, since=since, field_keys=[unknown])),
    ):
        expect_invalid(evidence, ctx.wire.call(operation, payload), doing=f"{operation} with field key {unknown!r}")
    evidence.note(f"{actor_type}: fields {asked} in get_actors, changes and search_actors; an unknown key refused")


def _get(ctx: Context, actor_type: m.ActorType, keys: list[str], field_keys: list[str]) -> list[m.Actor]:
    payload = ctx.on_connection(actor_type=actor_type, erp_keys=keys, field_keys=field_keys)
    return ctx.request("get_actors", payload, m.GetActorsResponse).actors


def _save_one(ctx: Context, actor: dict[str, Any]) -> m.SaveActorsResponse:
    return ctx.request("save_actors", ctx.on_connection(actors=[actor]), m.SaveActorsResponse)


def _expect_actor_refused(evidence: Evidence, answer: m.SaveActorsResponse, *, code: ErrorCode, doing: str) -> None:
    reported = [(error.index, str(error.error_code)) for error in answer.errors]
    evidence.expect(reported == [(0, str(code))], f"{doing}: expected errors [(0, {code!s})]; got {reported}")


def _stored(ctx: Context, actor_type: m.ActorType, erp_key: str, field_key: str) -> m.Value:
    actors = _get(ctx, actor_type, [erp_key], [field_key])
    if not actors:
        raise RuleFailedError(f"{actor_type} {erp_key} can no longer be read")
    return actors[0].fields.get(field_key)


def _create_answer(ctx: Context, actor_type: m.ActorType, values: dict[str, m.Value], purpose: str) -> Answer:
    actor = {"actor_type": actor_type, "fields": values}
    answer = ctx.wire.call("create_actor", ctx.on_connection(actor=actor, idempotency_key=f"{ctx.tag}-{purpose}"))
    created = (answer.document or {}).get("actor") if answer.ok else None
    if isinstance(created, dict) and isinstance(created.get("erp_key"), str):
        ctx.created.append((actor_type, created["erp_key"]))
    return answer


def check_unknown_fields(ctx: Context, evidence: Evidence) -> None:
    actor_type = subject_type(ctx)
    tag_field = name_field(ctx, actor_type)
    unknown = f"no_such_field_{ctx.tag}"
    values = {**sample_values(ctx, actor_type, purpose="unknownfield", index=0), unknown: "x"}
    expect_invalid(evidence, _create_answer(ctx, actor_type, values, "unknownfield"), doing="create_actor with it")
    record = create_samples(ctx, actor_type, purpose="unknownsave", count=1)[0]
    before = _stored(ctx, actor_type, str(record.erp_key), tag_field)
    change = {
        "actor_type": actor_type,
        "erp_key": record.erp_key,
        "fields": {tag_field: f"changed {ctx.tag}", unknown: 1},
    }
    answer = _save_one(ctx, change)
    _expect_actor_refused(evidence, answer, code=ErrorCode.VALIDATION, doing=f"save_actors with field {unknown!r}")
    after = _stored(ctx, actor_type, str(record.erp_key), tag_field)
    evidence.expect(after == before, f"the refused save still changed {tag_field} from {before!r} to {after!r}")
    evidence.note(f"{actor_type}: field {unknown!r} refused by create_actor and save_actors")


def check_read_only_fields(ctx: Context, evidence: Evidence) -> None:
    actor_type = subject_type(ctx)
    read_only = [
        meta
        for meta in ctx.fields(actor_type)
        if meta.access == m.Access.READ_ONLY and meta.type not in (m.FieldType.LABEL, m.FieldType.PASSWORD)
    ]
    if not read_only:
        evidence.note(f"{actor_type} has no read-only field")
        return
    record = create_samples(ctx, actor_type, purpose="readonly", count=1)[0]
    for meta in read_only:
        before = _stored(ctx, actor_type, str(record.erp_key), meta.key)
        value = _different(ctx, meta, before)
        answer = _save_one(ctx, {"actor_type": actor_type, "erp_key": record.erp_key, "fields": {meta.key: value}})
        _expect_actor_refused(evidence, answer, code=ErrorCode.VALIDATION, doing=f"save_actors of read-only {meta.key}")
        after = _stored(ctx, actor_type, str(record.erp_key), meta.key)
        evidence.expect(after == before, f"read-only {meta.key} changed from {before!r} to {after!r}")
        values = {**sample_values(ctx, actor_type, purpose="readonlynew", index=0), meta.key: value}
        answer_new = _create_answer(ctx, actor_type, values, f"readonly-{meta.key}")
        expect_invalid(evidence, answer_new, doing=f"create_actor with read-only {meta.key}")
    evidence.note(f"{actor_type}: read-only {[meta.key for meta in read_only]} refused")


def _different(ctx: Context, meta: m.FieldMeta, current: m.Value) -> m.Value:
    for index in range(4):
        value = value_for(ctx, meta, index=index)
        if value is not None and value != current:
            return value
    return f"x-{uuid.uuid4().hex[:8]}"


def check_mandatory_fields(ctx: Context, evidence: Evidence) -> None:
    actor_type = subject_type(ctx)
    mandatory = [meta for meta in ctx.fields(actor_type) if meta.access == m.Access.MANDATORY]
    if not mandatory:
        evidence.note(f"{actor_type} has no mandatory field")
        return
    record = create_samples(ctx, actor_type, purpose="mandatory", count=1)[0]
    for meta in mandatory:
        values = sample_values(ctx, actor_type, purpose="mandatorynew", index=0)
        values.pop(meta.key, None)
        missing = _create_answer(ctx, actor_type, values, f"mandatory-{meta.key}")
        expect_invalid(evidence, missing, doing=f"create_actor without mandatory {meta.key}")
        before = _stored(ctx, actor_type, str(record.erp_key), meta.key)
        blank = "" if meta.type in _BLANK_AS_TEXT else None
        answer = _save_one(ctx, {"actor_type": actor_type, "erp_key": record.erp_key, "fields": {meta.key: blank}})
        _expect_actor_refused(evidence, answer, code=ErrorCode.VALIDATION, doing=f"save_actors blanking {meta.key}")
        after = _stored(ctx, actor_type, str(record.erp_key), meta.key)
        evidence.expect(after == before, f"mandatory {meta.key} changed from {before!r} to {after!r} by a blank")
    evidence.note(f"{actor_type}: mandatory {[meta.key for meta in mandatory]} enforced")


def check_unsupported_actor_type(ctx: Context, evidence: Evidence) -> None:
    supported = set(ctx.actor_types())
    others = [kind for kind in m.ActorType if kind not in supported]
    if not others:
        evidence.note("the connection supports every actor type")
        return
    for kind in others:
        for operation, payload in (
            ("actor_fields", ctx.on_connection(actor_type=kind)),
            ("get_actors", ctx.on_connection(actor_type=kind, erp_keys=["1"], field_keys=[])),
            ("changes", ctx.on_connection(actor_type=kind, field_keys=[], limit=1)),
        ):
            expect_invalid(evidence, ctx.wire.call(operation, payload), doing=f"{operation} for unsupported {kind}")
    evidence.note(f"unsupported {[str(kind) for kind in others]} refused")


RULES = (
    Rule(
        "field_keys", "field_keys selects exactly the fields answered; an unknown key is validation", check_field_keys
    ),
    Rule("unknown_fields", "writing an unknown field is validation and changes nothing", check_unknown_fields),
    Rule("read_only_fields", "writing a read-only field is validation and changes nothing", check_read_only_fields),
    Rule(
        "mandatory_fields",
        "a create without a mandatory field, or a save blanking one, is validation",
        check_mandatory_fields,
    ),
    Rule(
        "unsupported_actor_type",
        "an actor type the connection does not support is validation",
        check_unsupported_actor_type,
    ),
)
