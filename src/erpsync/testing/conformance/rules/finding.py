"""Rules on the simple searches: ``search_actors`` finds by name ignoring case, ``search_by_parent`` answers only the
parent's children, and every search answers at most ``limit`` actors.
"""

from __future__ import annotations

from typing import Any

from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import CannotCheckError, Evidence, Rule
from erpsync.testing.conformance.samples import (
    create_parent,
    create_sample,
    create_samples,
    name_field,
    require_persons,
    subject_type,
)


def _found(ctx: Context, operation: str, payload: dict[str, Any]) -> list[str]:
    return [str(actor.erp_key) for actor in ctx.request(operation, payload, m.ActorsResponse).actors]


def _require_search(ctx: Context) -> None:
    if not ctx.info().capabilities.search:
        raise CannotCheckError("the connector declares no search (capabilities.search)")


def check_search_actors(ctx: Context, evidence: Evidence) -> None:
    _require_search(ctx)
    actor_type = subject_type(ctx)
    keys = [str(r.erp_key) for r in create_samples(ctx, actor_type, purpose="find", count=2)]
    text = f"{ctx.tag} find"
    for asked in (text, text.upper()):
        found = _found(ctx, "search_actors", ctx.on_connection(actor_type=actor_type, text=asked, field_keys=[]))
        evidence.expect(
            sorted(found) == sorted(keys), f"search_actors {asked!r}: expected the records {keys}, got {found}"
        )
    nothing = f"zq{ctx.tag}xj nowhere"
    found = _found(ctx, "search_actors", ctx.on_connection(actor_type=actor_type, text=nothing, field_keys=[]))
    evidence.expect(not found, f"search_actors {nothing!r} matches no record, yet answered {found}")
    evidence.note(f"{actor_type}: {text!r} and its upper case find the {len(keys)} records named with it")


def check_search_by_parent(ctx: Context, evidence: Evidence) -> None:
    _require_search(ctx)
    require_persons(ctx)
    parents = [create_parent(ctx, purpose="family", index=index) for index in range(2)]
    children = {
        str(parent.erp_key): str(
            create_sample(ctx, m.ActorType.PERSON, purpose="child", index=i, parent=parent).erp_key
        )
        for i, parent in enumerate(parents)
    }
    for parent in parents:
        payload = ctx.on_connection(
            actor_type=m.ActorType.PERSON,
            parent_type=parent.actor_type,
            parent_key=parent.erp_key,
            field_keys=[],
        )
        found = _found(ctx, "search_by_parent", payload)
        expected = [children[str(parent.erp_key)]]
        evidence.expect(
            found == expected,
            f"search_by_parent {parent.actor_type} {parent.erp_key}: expected {expected}, got {found}",
        )
    evidence.note(f"two parents with one person each: {children}")


def check_search_limit(ctx: Context, evidence: Evidence) -> None:
    _require_search(ctx)
    actor_type = subject_type(ctx)
    tag_field = name_field(ctx, actor_type)
    create_samples(ctx, actor_type, purpose="limit", count=3)
    text = f"{ctx.tag} limit"
    for limit in (1, 2):
        found = _found(
            ctx, "search_actors", ctx.on_connection(actor_type=actor_type, text=text, field_keys=[], limit=limit)
        )
        evidence.expect(len(found) == limit, f"search_actors with limit {limit} over 3 matches answered {len(found)}")
    if ctx.info().capabilities.advanced_search and tag_field in ctx.searchable(actor_type):
        restriction = {"field": tag_field, "operator": "contains", "values": [text]}
        payload = ctx.on_connection(actor_type=actor_type, restrictions=[restriction], field_keys=[], limit=2)
        found = _found(ctx, "search_advanced", payload)
        evidence.expect(len(found) == 2, f"search_advanced with limit 2 over 3 matches answered {len(found)}")
    evidence.note(f"{actor_type}: limits 1 and 2 over 3 matching records")


RULES = (
    Rule(
        "search_actors",
        "search_actors finds the records whose name contains the text, ignoring case, and nothing else",
        check_search_actors,
    ),
    Rule(
        "search_by_parent", "search_by_parent answers exactly the children of the given parent", check_search_by_parent
    ),
    Rule("search_limit", "searches answer at most limit actors", check_search_limit),
)
