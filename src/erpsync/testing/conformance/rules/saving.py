"""Rules on what a write leaves behind: every value reads back, ``last_modified`` advances, parents are kept, moved
and cleared as asked, and a write over a newer ERP edit is refused as ``conflict`` (optimistic locking).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from erpsync.errors import ErrorCode
from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import Evidence, Rule, RuleFailedError
from erpsync.testing.conformance.samples import (
    create_parent,
    create_sample,
    create_samples,
    name_field,
    require_persons,
    sample_values,
    subject_type,
    tagged_name,
)


def _read(ctx: Context, actor_type: m.ActorType, erp_key: str, field_keys: list[str]) -> m.Actor:
    payload = ctx.on_connection(actor_type=actor_type, erp_keys=[erp_key], field_keys=field_keys)
    actors = ctx.request("get_actors", payload, m.GetActorsResponse).actors
    if not actors:
        raise RuleFailedError(f"{actor_type} {erp_key} can no longer be read")
    return actors[0]


def _save(ctx: Context, actor: dict[str, Any]) -> m.SaveActorsResponse:
    return ctx.request("save_actors", ctx.on_connection(actors=[actor]), m.SaveActorsResponse)


def _saved(ctx: Context, actor: dict[str, Any], *, doing: str) -> m.Actor:
    answer = _save(ctx, actor)
    if answer.errors:
        raise RuleFailedError(f"{doing}: save_actors refused it: {[e.model_dump(mode='json') for e in answer.errors]}")
    if len(answer.actors) != 1:
        raise RuleFailedError(f"{doing}: save_actors answered {len(answer.actors)} actors for one saved")
    return answer.actors[0]


def same_value(kind: m.FieldType, sent: m.Value, read: m.Value) -> bool:
    """Whether a value reads back as sent: datetimes as the same instant, doubles within rounding."""
    if kind == m.FieldType.DATETIME and isinstance(sent, str) and isinstance(read, str):
        try:
            return _instant(sent) == _instant(read)
        except ValueError:
            return False
    if kind == m.FieldType.DOUBLE and isinstance(sent, int | float) and isinstance(read, int | float):
        return abs(float(sent) - float(read)) < 1e-9
    return sent == read and type(sent) is type(read)


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_read_back(ctx: Context, evidence: Evidence) -> None:
    """create_actor answers every field; every value saved reads back as sent, in the answer and in get_actors."""
    actor_type = subject_type(ctx)
    all_keys = ctx.field_keys(actor_type)
    record = create_samples(ctx, actor_type, purpose="readback", count=1)[0]
    missing = sorted(set(all_keys) - set(record.fields))
    evidence.expect(not missing, f"create_actor answered the actor without the fields {missing}")
    values = sample_values(ctx, actor_type, purpose="readback", index=3)
    changed = {"actor_type": actor_type, "erp_key": record.erp_key, "last_modified": record.last_modified}
    answered = _saved(ctx, {**changed, "fields": values}, doing="saving every writable field")
    stored = _read(ctx, actor_type, str(record.erp_key), all_keys)
    types = {meta.key: meta.type for meta in ctx.fields(actor_type)}
    for source, actor in (("the save_actors answer", answered), ("get_actors", stored)):
        wrong = {
            key: actor.fields.get(key, "<absent>")
            for key, value in values.items()
            if not same_value(types[key], value, actor.fields.get(key))
        }
        evidence.expect(not wrong, f"{source} after saving {values}: differs in {wrong}")
    evidence.note(f"{actor_type}: {len(values)} fields saved and read back")


def check_last_modified(ctx: Context, evidence: Evidence) -> None:
    actor_type = subject_type(ctx)
    tag_field = name_field(ctx, actor_type)
    record = create_samples(ctx, actor_type, purpose="stamp", count=1)[0]
    before = str(record.last_modified)
    change = {"actor_type": actor_type, "erp_key": record.erp_key, "last_modified": before}
    answered = _saved(
        ctx, {**change, "fields": {tag_field: tagged_name(ctx, purpose="restamped", index=1)}}, doing="a rename"
    )
    stored = _read(ctx, actor_type, str(record.erp_key), [])
    for source, stamp in (("the save_actors answer", answered.last_modified), ("get_actors", stored.last_modified)):
        evidence.expect(
            stamp is not None and stamp > before,
            f"{source}: last_modified {stamp!r} after a save; before it {before!r}",
        )
    evidence.note(f"{actor_type}: last_modified {before!r} -> {stored.last_modified!r}")


def check_parents(ctx: Context, evidence: Evidence) -> None:
    require_persons(ctx)
    first, second = (create_parent(ctx, purpose="kin", index=index) for index in range(2))
    person = create_sample(ctx, m.ActorType.PERSON, purpose="kin", index=0, parent=first)
    tag_field = name_field(ctx, m.ActorType.PERSON)
    key = str(person.erp_key)
    evidence.expect(
        (person.parent_type, person.parent_key) == (first.actor_type, first.erp_key),
        f"create_actor answered the person with parent {person.parent_type} {person.parent_key}, "
        f"created under {first.actor_type} {first.erp_key}",
    )
    steps: list[tuple[str, dict[str, Any], tuple[Any, Any]]] = [
        ("a save without parent members", {}, (first.actor_type, first.erp_key)),
        (
            "a save moving it",
            {"parent_type": second.actor_type, "parent_key": second.erp_key},
            (second.actor_type, second.erp_key),
        ),
        ("a save clearing it (both null)", {"parent_type": None, "parent_key": None}, (None, None)),
    ]
    for index, (doing, members, expected) in enumerate(steps):
        fields = {tag_field: tagged_name(ctx, purpose="kin", index=index + 1)}
        answer = _save(ctx, {"actor_type": m.ActorType.PERSON, "erp_key": key, "fields": fields, **members})
        refused = [str(error.error_code) for error in answer.errors]
        now = _read(ctx, m.ActorType.PERSON, key, [])
        if refused == [ErrorCode.VALIDATION] and expected == (None, None):
            evidence.note(f"{doing}: refused as validation (the ERP demands a parent)")
            expected = (second.actor_type, second.erp_key)
        else:
            evidence.expect(not refused, f"{doing}: save_actors refused it: {refused}")
        evidence.expect(
            (now.parent_type, now.parent_key) == expected,
            f"after {doing}: parent {now.parent_type} {now.parent_key}, expected {expected[0]} {expected[1]}",
        )
    evidence.note("a person's parent kept, moved and cleared as asked")


def check_optimistic_locking(ctx: Context, evidence: Evidence) -> None:
    actor_type = subject_type(ctx)
    tag_field = name_field(ctx, actor_type)
    record = create_samples(ctx, actor_type, purpose="locking", count=1)[0]
    read = str(record.last_modified)
    base = {"actor_type": actor_type, "erp_key": record.erp_key, "last_modified": read}
    first_name = tagged_name(ctx, purpose="edited", index=1)
    _saved(ctx, {**base, "fields": {tag_field: first_name}}, doing="a save with the current last_modified")
    stale = _save(ctx, {**base, "fields": {tag_field: tagged_name(ctx, purpose="overwritten", index=2)}})
    reported = [(error.index, str(error.error_code)) for error in stale.errors]
    evidence.expect(
        reported == [(0, str(ErrorCode.CONFLICT))],
        f"a save with the stale last_modified {read!r} (the ERP changed since): expected errors [(0, conflict)], "
        f"got {reported}",
    )
    now = _read(ctx, actor_type, str(record.erp_key), [tag_field]).fields.get(tag_field)
    evidence.expect(now == first_name, f"the refused stale save left {tag_field} = {now!r}, not {first_name!r}")
    evidence.note(f"{actor_type}: a save over a newer edit refused as conflict")


RULES = (
    Rule("save_read_back", "create_actor answers every field; every saved value reads back as sent", check_read_back),
    Rule("last_modified_advances", "a save advances last_modified", check_last_modified),
    Rule("parents", "a person's parent is kept when not sent, moved, and cleared by nulls", check_parents),
    Rule(
        "optimistic_locking",
        "save_actors with a stale last_modified is refused as conflict and changes nothing",
        check_optimistic_locking,
    ),
)
