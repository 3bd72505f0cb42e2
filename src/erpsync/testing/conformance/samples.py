"""Records the kit creates in the ERP: distinctive generated values, the run tag in the name, one per index.

Values differ per index in case, prefix and suffix so that every search operator selects a proper subset, and a
different one per operator: record 1 contains the first record's head and tail without beginning or ending with them,
so ``begins`` or ``ends`` implemented as ``contains`` selects a record it must not. Fields
whose keys suggest a format (email, URL, phone) get values in that format, because ERPs validate them.
"""

from __future__ import annotations

from typing import Any

from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import CannotCheckError, RuleFailedError

_HEADS = ("Alpha", "bravo alpha", "ALPHA Charlie", "delta")
_TAILS = ("one", "one Two", "three ONE", "four")
# Numbers stay small and non-negative, doubles within 0..1 (a fraction or a percentage): ERPs validate ranges that
# field metadata cannot state.
_INTEGERS = (7, 42, 1000, 3)
_DOUBLES = (0.5, 0.25, 0.75, 1.0)
_DATETIMES = ("2031-03-15T10:30:00", "2029-12-31T23:59:59", "2031-03-15T10:30:01", "2030-06-01T00:00:00")
_PARENT_TYPES = (m.ActorType.CUSTOMER, m.ActorType.PARTNER, m.ActorType.SUPPLIER)
SAMPLE_COUNT_MAX = len(_HEADS)


def subject_type(ctx: Context) -> m.ActorType:
    """The actor type the kit creates records of for rules that need one; stops the rule when there is none."""
    creatable = ctx.creatable_types()
    if not creatable:
        raise CannotCheckError(
            "the connector creates no actor type (capabilities.create), so the kit cannot make records"
        )
    return next((kind for kind in creatable if kind != m.ActorType.PERSON), creatable[0])


def name_field(ctx: Context, actor_type: m.ActorType) -> str:
    """The writable text field that carries the run tag: ``name`` if there is one, else the first such field."""
    candidates = [meta.key for meta in writable(ctx, actor_type) if meta.type == m.FieldType.TEXT]
    if not candidates:
        raise CannotCheckError(f"{actor_type} has no writable text field to put the kit's run tag in")
    named = [key for key in candidates if "name" in key.lower()]
    return "name" if "name" in candidates else (named or candidates)[0]


def create_samples(ctx: Context, actor_type: m.ActorType, *, purpose: str, count: int) -> list[m.Actor]:
    """Create ``count`` tagged records of ``actor_type`` and return them as the connector answered."""
    parent = _parent(ctx) if actor_type == m.ActorType.PERSON else None
    return [create_sample(ctx, actor_type, purpose=purpose, index=index, parent=parent) for index in range(count)]


def create_sample(
    ctx: Context, actor_type: m.ActorType, *, purpose: str, index: int, parent: m.Actor | None = None
) -> m.Actor:
    actor = m.Actor(actor_type=actor_type, fields=sample_values(ctx, actor_type, purpose=purpose, index=index))
    if parent is not None:
        actor.parent_type, actor.parent_key = parent.actor_type, parent.erp_key
    return create(ctx, actor, idempotency_key=f"{ctx.tag}-{actor_type}-{purpose}-{index}")


def create(ctx: Context, actor: m.Actor, *, idempotency_key: str) -> m.Actor:
    payload = ctx.on_connection(actor=actor.model_dump(mode="json"), idempotency_key=idempotency_key)
    created = ctx.request("create_actor", payload, m.ActorResponse).actor
    if created is None or created.erp_key is None:
        raise RuleFailedError(f"create_actor answered no actor with an erp_key for {idempotency_key}")
    ctx.created.append((actor.actor_type, created.erp_key))
    return created


def sample_values(ctx: Context, actor_type: m.ActorType, *, purpose: str, index: int) -> dict[str, m.Value]:
    tagged = name_field(ctx, actor_type)
    values: dict[str, m.Value] = {}
    for meta in writable(ctx, actor_type):
        value = _value(ctx, meta, index=index, tag=ctx.tag if meta.key == tagged else "", purpose=purpose)
        if value is not None:
            values[meta.key] = _fit(value, meta)
    adjust = ctx.hooks.adjust_sample
    return adjust(actor_type, values) if adjust else values


def tagged_name(ctx: Context, *, purpose: str, index: int) -> str:
    return f"{_HEADS[index % SAMPLE_COUNT_MAX]} {ctx.tag} {purpose} {_TAILS[index % SAMPLE_COUNT_MAX]}"


def writable(ctx: Context, actor_type: m.ActorType) -> list[m.FieldMeta]:
    """The fields the kit writes: neither read-only nor display-only nor passwords."""
    return [
        meta
        for meta in ctx.fields(actor_type)
        if meta.access != m.Access.READ_ONLY and meta.type not in (m.FieldType.LABEL, m.FieldType.PASSWORD)
    ]


def value_for(ctx: Context, meta: m.FieldMeta, *, index: int) -> m.Value:
    """A generated value of ``meta``'s type (not the tagged name), fitted to its length."""
    value = _value(ctx, meta, index=index, tag="", purpose="")
    return None if value is None else _fit(value, meta)


def _value(ctx: Context, meta: m.FieldMeta, *, index: int, tag: str, purpose: str) -> m.Value:
    at = index % SAMPLE_COUNT_MAX
    if meta.type == m.FieldType.TEXT:
        return tagged_name(ctx, purpose=purpose, index=index) if tag else _text(meta.key, at)
    if meta.type == m.FieldType.LIST:
        keys = _list_keys(ctx, meta)
        return keys[at % len(keys)] if keys else None
    by_type: dict[m.FieldType, tuple[Any, ...]] = {
        m.FieldType.INTEGER: _INTEGERS,
        m.FieldType.DOUBLE: _DOUBLES,
        m.FieldType.CHECKBOX: (True, False, True, False),
        m.FieldType.DATETIME: _DATETIMES,
    }
    value: m.Value = by_type[meta.type][at]
    return value


def _text(key: str, at: int) -> str:
    head, tail = _HEADS[at].split()[0], _TAILS[at].split()[0]
    lowered = key.lower()
    if "mail" in lowered:
        return f"{head}.{tail}{at}@example.com"
    if "url" in lowered or "web" in lowered or "site" in lowered:
        return f"https://{head.lower()}{at}.example.com/{tail}"
    if "phone" in lowered or "fax" in lowered or "mobile" in lowered:
        return f"+45 {20 + at} 00 {at}{at}"
    return f"{_HEADS[at]} {_TAILS[at]}"


def _fit(value: m.Value, meta: m.FieldMeta) -> m.Value:
    if isinstance(value, str) and meta.max_length is not None:
        return value[: meta.max_length]
    return value


def _list_keys(ctx: Context, meta: m.FieldMeta) -> list[str]:
    if not meta.list_name:
        return []
    payload = ctx.on_connection(list_name=meta.list_name)
    return [item.key for item in ctx.request("list_items", payload, m.ListItemsResponse).items]


def _parent(ctx: Context) -> m.Actor:
    return create_parent(ctx, purpose="parent", index=0)


def create_parent(ctx: Context, *, purpose: str, index: int) -> m.Actor:
    """A new record of a type a person can belong to."""
    creatable = ctx.creatable_types()
    kind = next((kind for kind in _PARENT_TYPES if kind in creatable), None)
    if kind is None:
        raise CannotCheckError("a person needs a parent, and the connector creates no customer, partner or supplier")
    return create_sample(ctx, kind, purpose=purpose, index=index)


def require_persons(ctx: Context) -> None:
    if m.ActorType.PERSON not in ctx.creatable_types():
        raise CannotCheckError("the connector creates no person (capabilities.create), so the kit has no children")
