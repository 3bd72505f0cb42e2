"""Validation of mappings, list mappings, create defaults and activation: every validator returns EVERY ``Problem``
it finds, empty when valid, so a save can be refused with all its reasons at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from erpsync.crm.fields import CRM_FIELDS, CrmList, EntityType
from erpsync.protocol.models import Access, ActorType, FieldMeta, FieldType
from erpsync.sync.mapping.models import (
    ENTITY_FOR_ACTOR,
    ERP_ACTIVE_FIELD,
    ActorTypeMapping,
    ConnectionConfig,
    CrmDeletePolicy,
    CrmItemId,
    FieldDefault,
    FieldMapping,
    ListMapping,
    Problem,
    is_compatible,
    is_read_only,
)
from erpsync.sync.mapping.translation import erp_value_problem
from erpsync.sync.merge import Direction, Side, is_blank


def validate_mapping(mapping: ActorTypeMapping, *, erp_fields: Sequence[FieldMeta]) -> list[Problem]:
    """Every reason the mapping of one actor type cannot be saved."""
    metas = {meta.key: meta for meta in erp_fields}
    entity = ENTITY_FOR_ACTOR[mapping.actor_type]
    problems = [p for row in mapping.fields for p in _row_problems(row, metas.get(row.erp_field), entity)]
    problems += _duplicate_problems(mapping.fields)
    problems += delete_policy_problems(mapping, metas)
    return [Problem(p.field, p.message, mapping.actor_type.value) for p in problems]


def delete_policy_problems(mapping: ActorTypeMapping, metas: Mapping[str, FieldMeta]) -> list[Problem]:
    """The delete policies a side cannot carry out: an ERP actor is deactivated only through an ``active`` checkbox the
    connector offers and lets the hub write. (Every CRM entity has its active flag, so every ERP deletion policy
    holds.)"""
    problems = []
    active = metas.get(ERP_ACTIVE_FIELD)
    if mapping.crm_delete is CrmDeletePolicy.DEACTIVATE_IN_ERP and (
        active is None or active.type is not FieldType.CHECKBOX or is_read_only(active)
    ):
        message = (
            f"the connector offers no writable {ERP_ACTIVE_FIELD!r} checkbox for a {mapping.actor_type.value}, "
            "so the ERP actor cannot be deactivated: choose unlink"
        )
        problems.append(Problem("crm_delete", message))
    return problems


def _row_problems(row: FieldMapping, meta: FieldMeta | None, entity: EntityType) -> list[Problem]:
    if meta is None:
        return [Problem(row.erp_field, f"unknown ERP field {row.erp_field!r}")]
    if row.crm_field is None:
        return [] if row.direction is Direction.NONE else [Problem(row.erp_field, "a direction needs a CRM field")]
    crm = CRM_FIELDS[entity].get(row.crm_field)
    if crm is None:
        return [Problem(row.erp_field, f"unknown {entity.value} field {row.crm_field!r}")]
    problems = []
    if not is_compatible(meta, crm):
        message = f"ERP field of type {meta.type.value} cannot pair with {crm.key} of type {crm.type.value}"
        problems.append(Problem(row.erp_field, message))
    if row.direction.writes(Side.ERP) and is_read_only(meta):
        problems.append(Problem(row.erp_field, "a read-only ERP field cannot sync to the ERP"))
    return problems


def _duplicate_problems(rows: Sequence[FieldMapping]) -> list[Problem]:
    counts = Counter(row.erp_field for row in rows)
    problems = [Problem(key, f"ERP field {key!r} is mapped {n} times") for key, n in counts.items() if n > 1]
    writers: dict[str, str] = {}
    for row in rows:
        if row.crm_field is None or not row.direction.writes(Side.CRM):
            continue
        first = writers.setdefault(row.crm_field, row.erp_field)
        if first != row.erp_field:
            message = f"CRM field {row.crm_field} is written from both {first!r} and {row.erp_field!r}"
            problems.append(Problem(row.erp_field, message))
    return problems


def validate_list_mapping(
    list_mapping: ListMapping, *, erp_keys: Collection[str], crm_items: Collection[CrmItemId]
) -> list[Problem]:
    """Every reason a list mapping cannot be saved: unknown items, a CRM item paired twice (named by its label when
    ``crm_items`` maps ids to labels)."""
    name, problems = list_mapping.list_name, []
    paired: dict[CrmItemId, str] = {}
    for key, item in list_mapping.items.items():
        if key not in erp_keys:
            problems.append(Problem(key, f"unknown ERP item {key!r} in list {name!r}", name))
        if item is None:
            continue
        if item not in crm_items:
            problems.append(Problem(key, f"unknown CRM item {item} in list {list_mapping.crm_list.value!r}", name))
        first = paired.setdefault(item, key)
        if first != key:
            label = crm_items.get(item, item) if isinstance(crm_items, Mapping) else item
            problems.append(Problem(key, f"CRM item {label!r} is paired with both {first!r} and {key!r}", name))
    return problems


def validate_defaults(
    defaults: Mapping[str, FieldDefault], *, erp_fields: Sequence[FieldMeta], fed: Collection[str] = ()
) -> list[Problem]:
    """Every reason the create defaults of one actor type cannot be saved; ``fed`` are the ERP fields the mapping
    fills from the CRM record on a create (a mandatory one needs no fixed value: the record gives it)."""
    metas = {meta.key: meta for meta in erp_fields}
    return [p for key, default in defaults.items() for p in _default_problems(key, default, metas.get(key), fed)]


def fed_from_crm(mapping: ActorTypeMapping) -> set[str]:
    """The ERP fields a create fills from the CRM record: mapped to a CRM field, in a direction that writes the ERP."""
    return {row.erp_field for row in mapping.fields if row.synced and row.direction.writes(Side.ERP)}


def _default_problems(key: str, default: FieldDefault, meta: FieldMeta | None, fed: Collection[str]) -> list[Problem]:
    if meta is None:
        return [Problem(key, f"unknown ERP field {key!r}")]
    if is_read_only(meta) or meta.type is FieldType.LABEL:
        return [Problem(key, "this ERP field cannot be given a value")]
    problems = []
    if not is_blank(default.value) and (wrong := erp_value_problem(meta, default.value)):
        problems.append(Problem(key, wrong))
    if default.mandatory and is_blank(default.value) and not default.ask_user and key not in fed:
        problems.append(Problem(key, "a mandatory default needs a value or must ask the user"))
    return problems


def effective_defaults(
    defaults: Mapping[str, FieldDefault], erp_fields: Sequence[FieldMeta]
) -> dict[str, FieldDefault]:
    """The defaults with *mandatory* forced on for the fields the connector marks mandatory."""
    forced = {meta.key for meta in erp_fields if meta.access is Access.MANDATORY}
    return {key: d.model_copy(update={"mandatory": d.mandatory or key in forced}) for key, d in defaults.items()}


def validate_activation(
    config: ConnectionConfig,
    *,
    erp_fields_by_type: Mapping[ActorType, Sequence[FieldMeta]],
    erp_list_keys: Mapping[str, Collection[str]],
    crm_list_items: Mapping[CrmList, Collection[CrmItemId]],
) -> list[Problem]:
    """Every reason the connection cannot be switched on (SPEC §4 *Active*), for each actor type switched on."""
    problems: list[Problem] = []
    list_names: set[str] = set()
    for mapping in (m for m in config.mappings.values() if m.active):
        erp_fields = erp_fields_by_type.get(mapping.actor_type)
        if erp_fields is None:
            problems.append(Problem("", "the connector does not offer this actor type", mapping.actor_type.value))
            continue
        defaults = config.defaults.get(mapping.actor_type, {})
        problems += validate_mapping(mapping, erp_fields=erp_fields)
        fed = fed_from_crm(mapping)
        problems += _scoped(validate_defaults(defaults, erp_fields=erp_fields, fed=fed), mapping.actor_type)
        problems += _scoped(_mandatory_problems(mapping, defaults, erp_fields), mapping.actor_type)
        problems += _scoped(_list_field_problems(mapping, erp_fields, config.list_mappings), mapping.actor_type)
        list_names |= {m.list_name or "" for m in erp_fields if m.type is FieldType.LIST and _is_synced(mapping, m.key)}
    for name in sorted(list_names & config.list_mappings.keys()):
        problems += _list_complete_problems(config.list_mappings[name], erp_list_keys.get(name, ()), crm_list_items)
    return problems


def _scoped(problems: list[Problem], actor_type: ActorType) -> list[Problem]:
    return [Problem(p.field, p.message, actor_type.value) for p in problems]


def _is_synced(mapping: ActorTypeMapping, erp_field: str) -> bool:
    return any(row.synced for row in mapping.fields if row.erp_field == erp_field)


def _mandatory_problems(
    mapping: ActorTypeMapping, defaults: Mapping[str, FieldDefault], erp_fields: Sequence[FieldMeta]
) -> list[Problem]:
    fed = fed_from_crm(mapping) | {key for key, d in defaults.items() if d.ask_user or not is_blank(d.value)}
    message = "a mandatory ERP field needs a CRM→ERP direction or a default"
    return [Problem(m.key, message) for m in erp_fields if m.access is Access.MANDATORY and m.key not in fed]


def _list_field_problems(
    mapping: ActorTypeMapping, erp_fields: Sequence[FieldMeta], list_mappings: Mapping[str, ListMapping]
) -> list[Problem]:
    metas, entity, problems = {m.key: m for m in erp_fields}, ENTITY_FOR_ACTOR[mapping.actor_type], []
    for row in mapping.fields:
        meta = metas.get(row.erp_field)
        if not row.synced or meta is None or meta.type is not FieldType.LIST or row.crm_field is None:
            continue
        crm = CRM_FIELDS[entity].get(row.crm_field)
        list_mapping = list_mappings.get(meta.list_name or "")
        if list_mapping is None:
            problems.append(Problem(row.erp_field, f"list {meta.list_name!r} has no list mapping"))
        elif crm is not None and list_mapping.crm_list is not crm.list_name:
            message = f"list {meta.list_name!r} is mapped to CRM list {list_mapping.crm_list.value!r}, not {crm.key}'s"
            problems.append(Problem(row.erp_field, message))
    return problems


def _list_complete_problems(
    list_mapping: ListMapping, erp_keys: Collection[str], crm_list_items: Mapping[CrmList, Collection[CrmItemId]]
) -> list[Problem]:
    name = list_mapping.list_name
    crm_items = crm_list_items.get(list_mapping.crm_list, ())
    problems = validate_list_mapping(list_mapping, erp_keys=erp_keys, crm_items=crm_items)
    message = "ERP item {!r} is not paired: choose a CRM item or no selection"
    return problems + [Problem(k, message.format(k), name) for k in erp_keys if k not in list_mapping.items]
