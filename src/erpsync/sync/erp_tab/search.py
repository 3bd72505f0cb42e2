"""Searching the ERP from the tab: simple (text) or advanced (restrictions checked against the searchable fields)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from erpsync.crm.fields import EntityType
from erpsync.crm.service import CrmRecord
from erpsync.protocol import models as m
from erpsync.sync import links
from erpsync.sync.erp_tab.context import Context, EntityRef, RefusedRequestError, interactive, open_context
from erpsync.sync.erp_tab.values import list_labels, rows_marked, shown
from erpsync.sync.erp_tab.views import Hit
from erpsync.sync.work import Engine, Pass

SEARCH_LIMIT = 50
"""Hits per page."""
MAX_PAGE = m.MAX_LIMIT // SEARCH_LIMIT
"""The protocol's searches have a limit and no offset: page ``n`` asks for ``n`` pages' worth and one more hit."""
_NAME_FIELDS = {
    EntityType.COMPANY: ("NAME",),
    EntityType.PERSON: ("FIRSTNAME", "LASTNAME"),
    EntityType.PROJECT: ("NAME",),
}


@dataclass(frozen=True)
class HitsPage:
    hits: list[Hit]
    page: int
    more: bool = False
    """Another page follows."""


@dataclass(frozen=True)
class RestrictionInput:
    field: str
    operator: str
    values: list[m.Value]


# --- search ---------------------------------------------------------------------------------------------------------


@interactive
def search_page(
    engine: Engine,
    user_id: int,
    entity: EntityRef,
    connection_id: int,
    *,
    actor_type: m.ActorType,
    text: str | None = None,
    restrictions: Sequence[RestrictionInput] | None = None,
    page: int = 1,
) -> HitsPage:
    """One page of ``SEARCH_LIMIT`` hits (at most ``MAX_PAGE`` pages) of a simple search (``text``; None: the
    entity's name) or an advanced one (``restrictions``), and whether another page follows; a person searches under
    its company's actor."""
    query = _Query(actor_type, text, restrictions)
    return _search(engine, user_id, entity, connection_id, query, page=min(max(page, 1), MAX_PAGE))


@dataclass(frozen=True)
class _Query:
    actor_type: m.ActorType
    text: str | None
    restrictions: Sequence[RestrictionInput] | None


def _search(engine: Engine, user_id: int, entity: EntityRef, connection_id: int, query: _Query, page: int) -> HitsPage:
    context = open_context(engine, user_id, entity, connection_id, needs_connector=True)
    p = context.checked_pass(query.actor_type)
    metas = rows_marked(p, tab=False) or default_search_fields(p)
    keys, limit = [meta.key for meta in metas], min(page * SEARCH_LIMIT + 1, m.MAX_LIMIT)
    if query.restrictions is not None:
        found = _advanced(context, p, query.restrictions, keys, limit)
    else:
        found = _simple(context, p, _entity_name(context.record) if query.text is None else query.text, keys, limit)
    found = [actor for actor in found if actor.erp_key]
    actors = found[(page - 1) * SEARCH_LIMIT : page * SEARCH_LIMIT]
    with engine.database.read_session() as session:
        keys_linked = [a.erp_key for a in actors if a.erp_key]
        linked = links.links_by_erp_key(session, connection_id, query.actor_type, keys_linked)
    labels = list_labels(p, metas, [actor.fields for actor in actors])
    hits = [
        Hit(
            erp_key=actor.erp_key or "",
            actor_type=actor.actor_type,
            fields=shown(metas, actor.fields, labels),
            linked=actor.erp_key in linked,
        )
        for actor in actors
    ]
    return HitsPage(hits, page, more=len(found) > page * SEARCH_LIMIT)


def default_search_fields(p: Pass) -> list[m.FieldMeta]:
    """With no field marked *show in search*: the ERP's first text field (its number, usually) and the fields paired
    with the CRM's name (a person's first and last name), else the ERP's mandatory text fields, in rank order."""
    texts = sorted((meta for meta in p.erp_fields if meta.type is m.FieldType.TEXT), key=lambda meta: meta.rank)
    names = {row.erp_field for row in p.mapping.fields if row.crm_field in _NAME_FIELDS[p.entity_type]}
    named = [meta for meta in texts if meta.key in names] or [f for f in texts if f.access is m.Access.MANDATORY]
    chosen = {meta.key for meta in [*texts[:1], *named]}
    return [meta for meta in texts if meta.key in chosen]


def _entity_name(record: CrmRecord) -> str:
    return str(record.values.get("NAME") or record.values.get("LASTNAME") or "")


def _simple(context: Context, p: Pass, text: str, keys: list[str], limit: int) -> list[m.Actor]:
    if context.entity.entity_type is EntityType.PERSON:
        parent = context.require_parent()
        return p.client.search_by_parent(
            connection_id=p.connection_uuid,
            actor_type=p.actor_type,
            parent_type=parent.actor_type,
            parent_key=parent.erp_key,
            text=text,
            field_keys=keys,
            limit=limit,
        ).actors
    return p.client.search_actors(
        connection_id=p.connection_uuid, actor_type=p.actor_type, text=text, field_keys=keys, limit=limit
    ).actors


def _advanced(
    context: Context, p: Pass, restrictions: Sequence[RestrictionInput], keys: list[str], limit: int
) -> list[m.Actor]:
    checked = check_restrictions(restrictions, p.erp_fields, context.searchable.get(p.actor_type, []))
    parent = context.require_parent() if context.entity.entity_type is EntityType.PERSON else None
    actors = p.client.search_advanced(
        connection_id=p.connection_uuid, actor_type=p.actor_type, restrictions=checked, field_keys=keys, limit=limit
    ).actors
    if parent is None:
        return actors
    return [actor for actor in actors if (actor.parent_type, actor.parent_key) == (parent.actor_type, parent.erp_key)]


def check_restrictions(
    restrictions: Sequence[RestrictionInput], erp_fields: Sequence[m.FieldMeta], searchable: Collection[str]
) -> list[m.Restriction]:
    """The restrictions as protocol models, or ``RefusedRequestError`` naming every bad one (SPEC §6.4)."""
    metas = {meta.key: meta for meta in erp_fields if meta.key in searchable}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    codes: list[tuple[str, dict[str, str | int]]] = []
    for index, restriction in enumerate(restrictions):
        found = _restriction_problem(restriction, metas.get(restriction.field))
        if found is not None:
            member, code, values = found
            problems.append((("restrictions", index, member), CRITERIA_PROBLEMS[code].format(**values)))
            codes.append((code, values))
    if problems:
        raise RefusedRequestError("bad search restrictions", problems, codes)
    return [m.Restriction(field=r.field, operator=m.Operator(r.operator), values=r.values) for r in restrictions]


CRITERIA_PROBLEMS = {
    "not_searchable": "{field!r} is not a searchable field",
    "operator_unfit": "{operator!r} does not apply to {type} field {field!r} (use: {allowed})",
    "two_values": "'between' on {field!r} takes two values, not {count}",
    "values_needed": "{operator!r} on {field!r} takes one value or more",
    "one_value": "{operator!r} on {field!r} takes one value, not {count}",
}
"""A search restriction's problems: code -> the English wording (the pages word the codes in their language)."""


def _restriction_problem(
    restriction: RestrictionInput, meta: m.FieldMeta | None
) -> tuple[str, str, dict[str, str | int]] | None:
    """The member at fault, the problem's code and its values; None for a good restriction."""
    if meta is None:
        return "field", "not_searchable", {"field": restriction.field}
    allowed = m.OPERATORS_BY_TYPE[meta.type]
    named: dict[str, str | int] = {"field": meta.key, "operator": restriction.operator}
    if restriction.operator not in {operator.value for operator in allowed}:
        names = ", ".join(sorted(operator.value for operator in allowed))
        return "operator", "operator_unfit", {**named, "type": meta.type.value, "allowed": names}
    count, operator = len(restriction.values), m.Operator(restriction.operator)
    if operator is m.Operator.BETWEEN and count != 2:
        return "values", "two_values", {**named, "count": count}
    if operator in (m.Operator.ONE_OF, m.Operator.NOT_ONE_OF) and count == 0:
        return "values", "values_needed", named
    if operator not in (m.Operator.BETWEEN, m.Operator.ONE_OF, m.Operator.NOT_ONE_OF) and count != 1:
        return "values", "one_value", {**named, "count": count}
    return None
