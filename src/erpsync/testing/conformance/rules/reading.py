"""Rules on reading: ``get_actors`` answers exactly what was asked, ``list_items`` serves every list in use."""

from __future__ import annotations

import uuid

from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context, valid_field_metas
from erpsync.testing.conformance.rule import CannotCheckError, Evidence, Rule
from erpsync.testing.conformance.samples import create_samples, subject_type


def check_get_actors(ctx: Context, evidence: Evidence) -> None:
    actor_type, keys = _some_records(ctx)
    asked_fields = ctx.field_keys(actor_type)[:2]
    missing = f"missing-{uuid.uuid4().hex}"
    payload = ctx.on_connection(actor_type=actor_type, erp_keys=[keys[0], missing, *keys[1:]], field_keys=asked_fields)
    answer = ctx.request("get_actors", payload, m.GetActorsResponse)
    returned = [actor.erp_key for actor in answer.actors]
    evidence.expect(
        sorted(map(str, returned)) == sorted(keys), f"asked for {keys} (and {missing}), got actors {returned}"
    )
    for actor in answer.actors:
        extra = set(actor.fields) - set(asked_fields)
        evidence.expect(not extra, f"{actor.erp_key}: asked for fields {asked_fields}, also got {sorted(extra)}")
        evidence.expect(
            actor.actor_type == actor_type, f"{actor.erp_key}: actor_type {actor.actor_type!s}, asked {actor_type!s}"
        )
    evidence.expect(answer.not_found == [missing], f"not_found is {answer.not_found}, expected [{missing!r}]")
    evidence.note(f"{actor_type}: {len(keys)} records and one missing key, fields {asked_fields}")


def _some_records(ctx: Context) -> tuple[m.ActorType, list[str]]:
    """Existing records of some actor type, else two the kit creates."""
    for actor_type in ctx.actor_types():
        payload = ctx.on_connection(actor_type=actor_type, field_keys=[], limit=2)
        actors = ctx.request("changes", payload, m.ChangesResponse).actors
        if actors:
            return actor_type, [str(actor.erp_key) for actor in actors]
    actor_type = subject_type(ctx)
    return actor_type, [str(actor.erp_key) for actor in create_samples(ctx, actor_type, purpose="get", count=2)]


def check_list_items(ctx: Context, evidence: Evidence) -> None:
    names = _list_names(ctx)
    if not names:
        raise CannotCheckError("no config or actor field is a list")
    for list_name in sorted(names):
        items = ctx.request("list_items", ctx.on_connection(list_name=list_name), m.ListItemsResponse).items
        if not evidence.expect(bool(items), f"list {list_name!r} has no items"):
            continue
        missing = f"missing-{uuid.uuid4().hex}"
        payload = ctx.on_connection(list_name=list_name, keys=[items[0].key, missing])
        filtered = [item.key for item in ctx.request("list_items", payload, m.ListItemsResponse).items]
        evidence.expect(
            filtered == [items[0].key], f"list {list_name!r} with keys [{items[0].key!r}, {missing!r}] gave {filtered}"
        )
        evidence.note(f"{list_name}: {len(items)} items")


def _list_names(ctx: Context) -> set[str]:
    metas = valid_field_metas(ctx.document("config_fields", {}).get("fields"))
    for actor_type in ctx.actor_types():
        metas += ctx.fields(actor_type)
    return {meta.list_name for meta in metas if meta.type == m.FieldType.LIST and meta.list_name}


def check_list_items_new(ctx: Context, evidence: Evidence) -> None:
    """The lists of config fields answer for connection id "new", before any save_connection."""
    metas = valid_field_metas(ctx.document("config_fields", {}).get("fields"))
    names = sorted({meta.list_name for meta in metas if meta.type == m.FieldType.LIST and meta.list_name})
    if not names:
        evidence.note("no config field is a list")
        return
    for list_name in names:
        answer = ctx.wire.call("list_items", {"connection_id": "new", "list_name": list_name})
        items = (answer.document or {}).get("items") if answer.ok else None
        evidence.expect(
            isinstance(items, list) and bool(items),
            f'list_items {list_name!r} for connection "new": expected its items; got {answer.describe()}',
        )
    evidence.note(f'config lists {names} answered for connection "new"')


RULES = (
    Rule(
        "get_actors", "get_actors returns only the asked fields and reports missing keys in not_found", check_get_actors
    ),
    Rule("list_items", "every list in use answers items with key and label; the keys filter works", check_list_items),
    Rule("list_items_new", 'the lists of config fields answer for connection id "new"', check_list_items_new),
)
