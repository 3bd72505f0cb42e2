"""Rules on writing: ``create_actor`` is idempotent by key, ``save_actors`` reports errors per actor."""

from __future__ import annotations

import uuid

from erpsync.errors import ErrorCode
from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import Evidence, Rule
from erpsync.testing.conformance.rules.changes import traverse
from erpsync.testing.conformance.samples import (
    create,
    create_samples,
    name_field,
    sample_values,
    subject_type,
    tagged_name,
)


def check_create_idempotent(ctx: Context, evidence: Evidence) -> None:
    actor_type = subject_type(ctx)
    actor = m.Actor(actor_type=actor_type, fields=sample_values(ctx, actor_type, purpose="idempotent", index=0))
    idempotency_key = f"{ctx.tag}-idempotent"
    first = create(ctx, actor, idempotency_key=idempotency_key)
    again = create(ctx, actor, idempotency_key=idempotency_key)
    evidence.expect(
        first.erp_key == again.erp_key, f"the same idempotency_key created {first.erp_key} and then {again.erp_key}"
    )
    tag_field, name = name_field(ctx, actor_type), actor.fields[name_field(ctx, actor_type)]
    traversal = traverse(ctx, actor_type, since=first.last_modified)
    named = {
        str(a.erp_key)
        for a in _with_fields(ctx, actor_type, traversal.erp_keys(), [tag_field])
        if a.fields.get(tag_field) == name
    }
    # At most one: whether changes shows the record at all is for the changes rules to judge.
    evidence.expect(len(named) <= 1, f"records named {name!r} after two creates with one key: {sorted(named)}")


def _with_fields(ctx: Context, actor_type: m.ActorType, keys: list[str], field_keys: list[str]) -> list[m.Actor]:
    payload = ctx.on_connection(actor_type=actor_type, erp_keys=sorted(set(keys)), field_keys=field_keys)
    return ctx.request("get_actors", payload, m.GetActorsResponse).actors


def check_save_actors_errors(ctx: Context, evidence: Evidence) -> None:
    actor_type = subject_type(ctx)
    tag_field = name_field(ctx, actor_type)
    keys = [str(record.erp_key) for record in create_samples(ctx, actor_type, purpose="save", count=2)]
    wanted = {key: tagged_name(ctx, purpose="saved", index=i) for i, key in enumerate(keys)}
    missing = f"missing-{uuid.uuid4().hex}"
    batch = [
        _change(actor_type, keys[0], tag_field, wanted[keys[0]]),
        _change(actor_type, missing, tag_field, "x"),
        _change(actor_type, keys[1], tag_field, wanted[keys[1]]),
    ]
    answer = ctx.request("save_actors", ctx.on_connection(actors=batch), m.SaveActorsResponse)
    reported = [(error.index, error.erp_key, str(error.error_code)) for error in answer.errors]
    evidence.expect(
        [index for index, _, _ in reported] == [1],
        f"the unknown erp_key at index 1 among two good actors; errors reported: {reported}",
    )
    codes = {str(code) for code in ErrorCode}
    evidence.expect(all(code in codes for _, _, code in reported), f"error codes not typed: {reported}")
    stored = {str(a.erp_key): a.fields.get(tag_field) for a in _with_fields(ctx, actor_type, keys, [tag_field])}
    evidence.expect(stored == wanted, f"the good actors were to be saved as {wanted}; the ERP holds {stored}")


def _change(actor_type: m.ActorType, erp_key: str, field_key: str, value: str) -> dict[str, object]:
    return {"actor_type": actor_type, "erp_key": erp_key, "fields": {field_key: value}}


RULES = (
    Rule("create_idempotent", "create_actor twice with one idempotency_key makes one record", check_create_idempotent),
    Rule(
        "save_actors_errors",
        "save_actors saves the good actors and reports a bad one by index",
        check_save_actors_errors,
    ),
)
