"""Mapping rules of a connection (SPEC §4 Configure): field and list mappings, defaults, validation, value translation.

Contract (pure: no database, no HTTP; the engine and the API persist these models):

- ``ConnectionConfig`` holds, per actor type, an ``ActorTypeMapping`` (master switch + one ``FieldMapping`` per ERP
  field), the ``ListMapping`` per ERP list, the create ``FieldDefault``s, the conflict policy and the blank option.
- Validators (``validate_mapping``, ``validate_list_mapping``, ``validate_defaults``, ``validate_activation``) return
  EVERY ``Problem`` they find, empty when valid, so a save can be refused with all its reasons at once.
- Values are translated into the merge's canonical space (see ``sync.merge``): keyed by ERP field key, in ERP terms
  (text, int, float, list-item key), with datetimes reduced to ISO dates because the CRM pairs them with date fields.
  ``Translator.crm_to_erp`` and ``.erp_canonical`` bring each side's values there; ``.erp_to_crm`` turns canonical
  values (the CRM writes) into CRM values. A value that cannot be translated (unmapped list item, wrong type, too
  long) is left out and reported as a ``Problem`` on the record, never dropped silently or written raw; the merge then
  skips that field.
- Only *synced* rows take part in translation: a CRM field set and a direction other than ``none``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from erpsync.crm.fields import CRM_FIELDS, CrmField, CrmFieldType, CrmList, EntityType
from erpsync.protocol.models import Access, ActorType, FieldMeta, FieldType, Value
from erpsync.sync.merge import Direction, FieldRule, Policy, Side, is_blank, normalize

CrmItemId = int
"""The id of a CRM list item (the value a CRM list field holds)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldMapping(_Frozen):
    erp_field: str = Field(min_length=1, max_length=255)
    crm_field: str | None = None
    direction: Direction = Direction.NONE
    show_in_search: bool = False
    show_in_tab: bool = False
    policy: Policy | None = None  # None: the connection's policy
    rank: int = 0

    @property
    def synced(self) -> bool:
        return self.crm_field is not None and self.direction is not Direction.NONE


class ActorTypeMapping(_Frozen):
    actor_type: ActorType
    active: bool = False  # the master switch "sync ERP <actor> to CRM <entity>"
    fields: tuple[FieldMapping, ...] = ()


class ListMapping(_Frozen):
    """Pairs each item of one ERP list with one item of a CRM list; None is the explicit *no selection*."""

    list_name: str = Field(min_length=1, max_length=255)
    crm_list: CrmList
    items: dict[str, CrmItemId | None] = Field(default_factory=dict)

    def erp_key_for(self, crm_item: CrmItemId) -> str | None:
        return next((key for key, item in self.items.items() if item == crm_item), None)


class FieldDefault(_Frozen):
    """A value sent when an actor is created in the ERP: fixed, asked of the user, or both (pre-filled)."""

    value: Value = None
    ask_user: bool = False
    mandatory: bool = False


class ConnectionConfig(_Frozen):
    mappings: dict[ActorType, ActorTypeMapping] = Field(default_factory=dict)
    list_mappings: dict[str, ListMapping] = Field(default_factory=dict)
    defaults: dict[ActorType, dict[str, FieldDefault]] = Field(default_factory=dict)
    policy: Policy = Policy.NEWEST
    no_blank_overwrite: bool = False


@dataclass(frozen=True)
class Problem:
    """One reason a configuration or a record's values are refused. ``scope``: actor type or list name, if any."""

    field: str
    message: str
    scope: str = ""


@dataclass(frozen=True)
class Translation:
    values: dict[str, Value]
    problems: tuple[Problem, ...]


# --- entities and compatibility -------------------------------------------------------------------------------------

ENTITY_FOR_ACTOR: dict[ActorType, EntityType] = {
    ActorType.CUSTOMER: EntityType.COMPANY,
    ActorType.SUPPLIER: EntityType.COMPANY,
    ActorType.PARTNER: EntityType.COMPANY,
    ActorType.PERSON: EntityType.PERSON,
    ActorType.PROJECT: EntityType.PROJECT,
}

_COMPATIBLE: dict[FieldType, CrmFieldType] = {
    FieldType.TEXT: CrmFieldType.TEXT,
    FieldType.INTEGER: CrmFieldType.TEXT,
    FieldType.DOUBLE: CrmFieldType.TEXT,
    FieldType.DATETIME: CrmFieldType.DATE,
    FieldType.LIST: CrmFieldType.LIST,
}
"""The CRM field type each ERP field type pairs with; checkbox, password and label fields pair with nothing."""

_ID_KEYS = frozenset({"id"})  # ERP keys the hub treats as the record's identity, never written


def is_compatible(meta: FieldMeta, crm: CrmField) -> bool:
    return _COMPATIBLE.get(meta.type) is crm.type


def compatible_crm_fields(meta: FieldMeta, entity: EntityType) -> list[CrmField]:
    """The CRM fields of ``entity`` that ``meta`` may pair with, in display order."""
    return [crm for crm in CRM_FIELDS[entity].values() if is_compatible(meta, crm)]


def is_read_only(meta: FieldMeta) -> bool:
    return meta.access is Access.READ_ONLY or meta.key.lower() in _ID_KEYS


def merge_rules(mapping: ActorTypeMapping, policy: Policy) -> dict[str, FieldRule]:
    """The merge's rule per ERP field of every row with a CRM field, the row's policy overriding the connection's."""
    return {row.erp_field: FieldRule(row.direction, row.policy or policy) for row in mapping.fields if row.crm_field}


def missing_in_erp(mapping: ActorTypeMapping, erp_fields: Iterable[FieldMeta]) -> list[str]:
    """Mapped ERP fields the connector no longer reports (shown as *missing in ERP*)."""
    reported = {meta.key for meta in erp_fields}
    return [row.erp_field for row in mapping.fields if row.erp_field not in reported]


def winners_by_erp_field(winners: Mapping[str, Side], mapping: ActorTypeMapping) -> dict[str, Side]:
    """The connect dialog's winners, chosen per CRM field (SPEC §9), keyed by the ERP fields paired with them."""
    return {
        row.erp_field: winners[row.crm_field] for row in mapping.fields if row.crm_field and row.crm_field in winners
    }


# --- auto-mapping ---------------------------------------------------------------------------------------------------


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _postal(*, phone: str, country: str) -> dict[str, str]:
    synonyms = {"phone": phone, "telephone": phone, "tel": phone, "country": country, "countrycode": country}
    synonyms |= {f"{stem}{i}": f"POSTALAD{i}" for stem in ("address", "addressline", "street") for i in (1, 2, 3)}
    synonyms |= dict.fromkeys(("address", "zip", "zipcode", "postcode", "postalcode"), "POSTALZIP")
    synonyms |= {"address": "POSTALAD1", "city": "POSTALCITY", "town": "POSTALCITY"}
    return synonyms | {"mail": "EMAIL", "emailaddress": "EMAIL", "website": "URL", "web": "URL", "homepage": "URL"}


_SYNONYMS: dict[EntityType, dict[str, str]] = {
    EntityType.COMPANY: _postal(phone="PHONE", country="COUNTRY")
    | {"county": "POSTALCOUNTY", "state": "POSTALSTATE", "vat": "VATNO", "vatnumber": "VATNO"}
    | dict.fromkeys(("orgnumber", "orgno", "organisationnumber", "organizationnumber", "registrationnumber"), "NUMBER1")
    | dict.fromkeys(("customernumber", "customerno", "suppliernumber", "number"), "NUMBER2"),
    EntityType.PERSON: _postal(phone="PHONE_DIRECT", country="POSTALCOUNTRY")
    | {"mobile": "PHONE_MOBILE", "cellphone": "PHONE_MOBILE", "givenname": "FIRSTNAME", "surname": "LASTNAME"}
    | {"familyname": "LASTNAME", "jobtitle": "TITLE", "customernumber": "NUMBER", "birthday": "BIRTHDATE"},
    EntityType.PROJECT: {"description": "TEXT", "notes": "TEXT", "projectnumber": "NUMBER", "deadline": "ENDDATE"}
    | {"website": "URL", "status": "STATUS"},
}
"""Obvious ERP field names (squashed: lower case, letters and digits only) per entity, beyond exact key matches."""


def _auto_candidates(entity: EntityType) -> dict[str, str]:
    exact = {_squash(name): crm.key for crm in CRM_FIELDS[entity].values() for name in (crm.attr, crm.key)}
    return _SYNONYMS[entity] | exact


def auto_map(erp_fields: Sequence[FieldMeta], entity: EntityType) -> tuple[FieldMapping, ...]:
    """One row per ERP field, paired by key or an obvious synonym with a compatible, unused CRM field; no direction."""
    candidates, taken = _auto_candidates(entity), set[str]()
    rows = []
    for meta in sorted(erp_fields, key=lambda m: m.rank):
        crm = CRM_FIELDS[entity].get(candidates.get(_squash(meta.key), ""))
        crm_key = crm.key if crm is not None and crm.key not in taken and is_compatible(meta, crm) else None
        if crm_key is not None:
            taken.add(crm_key)
        rows.append(FieldMapping(erp_field=meta.key, crm_field=crm_key, rank=meta.rank))
    return tuple(rows)


# --- validation -----------------------------------------------------------------------------------------------------


def validate_mapping(mapping: ActorTypeMapping, *, erp_fields: Sequence[FieldMeta]) -> list[Problem]:
    """Every reason the mapping of one actor type cannot be saved."""
    metas = {meta.key: meta for meta in erp_fields}
    entity = ENTITY_FOR_ACTOR[mapping.actor_type]
    problems = [p for row in mapping.fields for p in _row_problems(row, metas.get(row.erp_field), entity)]
    problems += _duplicate_problems(mapping.fields)
    return [Problem(p.field, p.message, mapping.actor_type.value) for p in problems]


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
    if not is_blank(default.value) and (wrong := _erp_value_problem(meta, default.value)):
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


def _erp_value_problem(meta: FieldMeta, value: Value) -> str | None:
    try:
        _FROM_ERP[meta.type](value, _Pairing.bare(meta))
    except _UntranslatableError as problem:
        return str(problem)
    return None


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


# --- value translation ----------------------------------------------------------------------------------------------


class _UntranslatableError(Exception):
    """A value that cannot cross to the other side; its message is the problem reported on the record."""


@dataclass(frozen=True)
class _Pairing:
    """One synced row with what translating its values needs."""

    row: FieldMapping | None
    meta: FieldMeta
    crm: CrmField | None
    items: ListMapping | None

    @classmethod
    def bare(cls, meta: FieldMeta) -> _Pairing:
        return cls(None, meta, None, None)

    @property
    def crm_key(self) -> str:
        return self.crm.key if self.crm is not None else ""

    @property
    def writes_crm(self) -> bool:
        return self.row is not None and self.row.direction.writes(Side.CRM)

    def list_mapping(self) -> ListMapping:
        if self.items is None:
            raise _UntranslatableError(f"list {self.meta.list_name!r} has no list mapping")
        return self.items


def _pairings(
    mapping: ActorTypeMapping, erp_fields: Sequence[FieldMeta], list_mappings: Mapping[str, ListMapping]
) -> list[_Pairing]:
    metas, crm_fields = {m.key: m for m in erp_fields}, CRM_FIELDS[ENTITY_FOR_ACTOR[mapping.actor_type]]
    pairings = []
    for row in mapping.fields:
        meta, crm = metas.get(row.erp_field), crm_fields.get(row.crm_field or "")
        if row.synced and meta is not None and crm is not None and is_compatible(meta, crm):
            pairings.append(_Pairing(row, meta, crm, list_mappings.get(meta.list_name or "")))
    return pairings


def _checked_length(text: str, limit: int | None, side: str) -> str:
    if limit is not None and len(text) > limit:
        raise _UntranslatableError(f"{len(text)} characters is longer than the {side} allows ({limit})")
    return text


def _number(value: Value, *, whole: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _UntranslatableError(f"{value!r} is not a {'whole number' if whole else 'number'}")
    if whole and not float(value).is_integer():
        raise _UntranslatableError(f"{value!r} is not a whole number")
    return int(value) if whole else value


def _iso_date(value: Value) -> str:
    """The ISO date of an ISO 8601 date or datetime (the CRM holds dates only)."""
    try:
        return datetime.fromisoformat(_text(value)).date().isoformat()
    except (ValueError, _UntranslatableError):
        raise _UntranslatableError(f"{value!r} is not an ISO 8601 date") from None


def _checkbox(value: Value) -> bool:
    if not isinstance(value, bool):
        raise _UntranslatableError(f"{value!r} is not true or false")
    return value


def _text(value: Value) -> str:
    if not isinstance(value, str):
        raise _UntranslatableError(f"{value!r} is not text")
    return value


# CRM value -> canonical, by ERP field type.
def _crm_number(value: Value, *, whole: bool) -> Value:
    text = _text(value).strip()
    try:
        number = int(text) if whole else float(text)
    except ValueError:
        raise _UntranslatableError(f"{text!r} is not a {'whole number' if whole else 'number'}") from None
    return _number(number, whole=whole)


def _crm_list(value: Value, pairing: _Pairing) -> Value:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _UntranslatableError(f"{value!r} is not a CRM list item id")
    key = pairing.list_mapping().erp_key_for(value)
    if key is None:
        raise _UntranslatableError(f"CRM item {value} has no ERP item in list {pairing.meta.list_name!r}")
    return key


Converter = Callable[[Value, _Pairing], Value]

_FROM_CRM: dict[FieldType, Converter] = {
    FieldType.TEXT: lambda value, p: _checked_length(_text(value), p.meta.max_length, "ERP"),
    FieldType.INTEGER: lambda value, p: _crm_number(value, whole=True),
    FieldType.DOUBLE: lambda value, p: _crm_number(value, whole=False),
    FieldType.DATETIME: lambda value, p: _iso_date(value),
    FieldType.LIST: _crm_list,
}


# ERP value -> canonical, by ERP field type; the CRM's limits apply here so that the merge never picks a value the
# CRM cannot hold.
def _erp_list(value: Value, pairing: _Pairing) -> Value:
    key = _text(value)
    if pairing.row is not None and pairing.list_mapping().items.get(key) is None:
        raise _UntranslatableError(f"ERP item {key!r} of list {pairing.meta.list_name!r} has no CRM item")
    return key


def _crm_limit(pairing: _Pairing) -> int | None:
    return pairing.crm.max_length if pairing.crm is not None else pairing.meta.max_length


_FROM_ERP: dict[FieldType, Converter] = {
    FieldType.TEXT: lambda value, p: _checked_length(_text(value), _crm_limit(p), "CRM"),
    FieldType.PASSWORD: lambda value, p: _checked_length(_text(value), p.meta.max_length, "ERP"),
    FieldType.INTEGER: lambda value, p: _number(value, whole=True),
    FieldType.DOUBLE: lambda value, p: _number(value, whole=False),
    FieldType.CHECKBOX: lambda value, p: _checkbox(value),
    FieldType.DATETIME: lambda value, p: _iso_date(value),
    FieldType.LIST: _erp_list,
}


def _to_crm(value: Value, pairing: _Pairing) -> Value:
    if value is None:
        return None
    if pairing.meta.type is FieldType.LIST:
        return pairing.list_mapping().items.get(str(value))
    return str(normalize(value))


def _translate(
    values: Mapping[str, Value], pairings: Iterable[_Pairing], source: Callable[[_Pairing], str], convert: Converter
) -> Translation:
    out: dict[str, Value] = {}
    problems: list[Problem] = []
    for pairing in pairings:
        key = source(pairing)
        if key not in values:
            continue
        try:
            out[key] = None if is_blank(values[key]) else convert(values[key], pairing)
        except _UntranslatableError as problem:
            problems.append(Problem(pairing.meta.key, str(problem)))
    return Translation(out, tuple(problems))


@dataclass(frozen=True)
class Translator:
    """The translations of one actor type's mapping with its field pairings worked out once: a sync translates every
    record of a page by the same mapping. ``Translator.of(mapping, erp_fields, list_mappings)``."""

    pairings: tuple[_Pairing, ...]

    @classmethod
    def of(
        cls, mapping: ActorTypeMapping, erp_fields: Sequence[FieldMeta], list_mappings: Mapping[str, ListMapping]
    ) -> Translator:
        return cls(tuple(_pairings(mapping, erp_fields, list_mappings)))

    def crm_to_erp(self, values: Mapping[str, Value]) -> Translation:
        """A CRM entity's values (keyed by CRM field) in canonical space, keyed by ERP field."""
        translated = _translate(values, self.pairings, lambda p: p.crm_key, _from_crm)
        return Translation(
            {p.meta.key: translated.values[p.crm_key] for p in self.pairings if p.crm_key in translated.values},
            translated.problems,
        )

    def erp_canonical(self, values: Mapping[str, Value]) -> Translation:
        """An ERP actor's values in canonical space (wrong types, unmapped list items and too-long text reported)."""
        return _translate(values, self.pairings, lambda p: p.meta.key, _from_erp)

    def erp_to_crm(self, values: Mapping[str, Value]) -> Translation:
        """Canonical values (e.g. the merge's CRM writes) as CRM values, keyed by CRM field, for rows that write the
        CRM."""
        pairings = [p for p in self.pairings if p.writes_crm]
        canonical = _translate(values, pairings, lambda p: p.meta.key, _from_erp)
        return Translation(self.canonical_to_crm(canonical.values), canonical.problems)

    def canonical_to_crm(self, canonical: Mapping[str, Value]) -> dict[str, Value]:
        """Values ``erp_canonical`` gave (checked already, so not again) as CRM values, keyed by CRM field, for rows
        that write the CRM."""
        return {
            p.crm_key: _to_crm(canonical[p.meta.key], p)
            for p in self.pairings
            if p.writes_crm and p.meta.key in canonical
        }


def _from_crm(value: Value, pairing: _Pairing) -> Value:
    return _FROM_CRM[pairing.meta.type](value, pairing)


def _from_erp(value: Value, pairing: _Pairing) -> Value:
    return _FROM_ERP[pairing.meta.type](value, pairing)
