"""Rules on what a connector says about itself: envelopes, ``info``, field metadata, actor types."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pydantic

from erpsync.errors import ErrorCode
from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context, strict
from erpsync.testing.conformance.rule import Evidence, Rule
from erpsync.testing.conformance.wire import Answer

_TEXT_MEMBERS = ("user_message", "tech_message", "error_code")
_STATES = {str(state) for state in m.State}
_CODES = {str(code) for code in ErrorCode}
_ACTOR_TYPES = {str(kind) for kind in m.ActorType}


def check_envelopes(ctx: Context, evidence: Evidence) -> None:
    """Sweeps the read-only operations and an error case, then judges every answer of the run so far."""
    ctx.wire.call("info")
    ctx.wire.call("config_fields")
    ctx.wire.call("actor_types", ctx.on_connection())
    for actor_type in ctx.actor_types():
        ctx.wire.call("actor_fields", ctx.on_connection(actor_type=actor_type))
        ctx.wire.call("searchable_fields", ctx.on_connection(actor_type=actor_type))
    ctx.wire.call("test_connection", {"connection_id": str(uuid.uuid4())})
    problems = sorted({problem for answer in ctx.wire.log for problem in envelope_problems(answer)})
    evidence.problems.extend(problems)
    evidence.note(f"{len(ctx.wire.log)} answers checked")


def envelope_problems(answer: Answer) -> list[str]:
    where = f"{answer.operation}:"
    if answer.status >= 500:
        return [f"{where} HTTP {answer.status}; a connector never answers 5xx"]
    doc = answer.document
    if doc is None:
        return [f"{where} answer is not a JSON object: {answer.body[:120]!r}"]
    problems = [] if isinstance(doc.get("ok"), bool) else [f"{where} `ok` is {doc.get('ok')!r}, not a boolean"]
    if doc.get("state") not in _STATES:
        problems.append(f"{where} `state` is {doc.get('state')!r}, not one of {sorted(_STATES)}")
    problems += [
        f"{where} `{name}` is {doc.get(name)!r}, not a string"
        for name in _TEXT_MEMBERS
        if not isinstance(doc.get(name), str)
    ]
    if doc.get("ok") is False:
        problems += _failure_problems(where, doc)
    return problems


def _failure_problems(where: str, doc: dict[str, Any]) -> list[str]:
    problems = []
    if doc.get("error_code") not in _CODES:
        problems.append(f"{where} ok:false with error_code {doc.get('error_code')!r}, not one of {sorted(_CODES)}")
    if doc.get("state") != m.State.ERROR:
        problems.append(f"{where} ok:false with state {doc.get('state')!r}, not 'error'")
    return problems


def check_info(ctx: Context, evidence: Evidence) -> None:
    doc = ctx.document("info", {})
    for name in ("name", "version"):
        evidence.expect(isinstance(doc.get(name), str) and bool(doc[name]), f"`{name}` is {doc.get(name)!r}")
    version = doc.get("protocol_version")
    evidence.expect(version == m.PROTOCOL_VERSION, f"protocol_version is {version!r}, not {m.PROTOCOL_VERSION!r}")
    try:
        capabilities = strict(m.Capabilities, doc.get("capabilities"))
    except pydantic.ValidationError as error:
        evidence.problems.append(f"capabilities are invalid: {m.describe_invalid(error)}")
        return
    evidence.note(
        f"{doc.get('name')} {doc.get('version')}, creates {sorted(k for k, v in capabilities.create.items() if v)}"
    )


def check_config_fields(ctx: Context, evidence: Evidence) -> None:
    raw = ctx.document("config_fields", {}).get("fields")
    evidence.problems.extend(field_meta_problems(raw, where="config_fields"))
    evidence.note(f"{len(raw) if isinstance(raw, list) else 0} config fields")


def check_actor_types(ctx: Context, evidence: Evidence) -> None:
    named = ctx.document("actor_types", ctx.on_connection()).get("actor_types")
    if not evidence.expect(isinstance(named, list) and bool(named), f"actor_types is {named!r}, not a non-empty list"):
        return
    assert isinstance(named, list)
    invented = [kind for kind in named if kind not in _ACTOR_TYPES]
    evidence.expect(not invented, f"actor types outside the fixed set {sorted(_ACTOR_TYPES)}: {invented!r}")
    twice = [kind for kind, count in Counter(map(str, named)).items() if count > 1]
    evidence.expect(not twice, f"actor types named twice: {twice}")
    evidence.note(f"actor types: {named}")


def check_actor_fields(ctx: Context, evidence: Evidence) -> None:
    for actor_type in ctx.actor_types():
        raw = ctx.document("actor_fields", ctx.on_connection(actor_type=actor_type)).get("fields")
        evidence.problems.extend(field_meta_problems(raw, where=f"actor_fields({actor_type})"))
        unknown = set(ctx.searchable(actor_type)) - set(ctx.field_keys(actor_type))
        evidence.expect(
            not unknown, f"searchable_fields({actor_type}) names fields it does not describe: {sorted(unknown)}"
        )
        evidence.note(f"{actor_type}: {len(ctx.field_keys(actor_type))} fields")


def field_meta_problems(raw: object, *, where: str) -> list[str]:
    """Problems of a field metadata list."""
    if not isinstance(raw, list):
        return [f"{where}: `fields` is {raw!r}, not a list"]
    problems = []
    for position, entry in enumerate(raw):
        try:
            meta = strict(m.FieldMeta, entry)
        except pydantic.ValidationError as error:
            problems.append(f"{where}[{position}]: {m.describe_invalid(error)}")
            continue
        if meta.type == m.FieldType.LIST and not meta.list_name:
            problems.append(f"{where}[{position}] {meta.key!r}: a list field without list_name")
    keys = Counter(entry.get("key") for entry in raw if isinstance(entry, dict))
    problems += [f"{where}: key {key!r} used {count} times" for key, count in keys.items() if count > 1]
    return problems


RULES = (
    Rule("info", "info names the connector, protocol version 1 and valid capabilities", check_info),
    Rule("config_fields", "config_fields is valid field metadata", check_config_fields),
    Rule("actor_types", "actor_types stay within the fixed set", check_actor_types),
    Rule("actor_fields", "actor_fields are valid field metadata; searchable fields exist", check_actor_fields),
)
ENVELOPE_RULE = Rule("envelope", "every response is a valid envelope with a typed error_code", check_envelopes)
