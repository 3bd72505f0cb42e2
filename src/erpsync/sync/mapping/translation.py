"""Value translation between the CRM, the ERP and the merge's canonical space (see ``sync.merge``).

Values are keyed by ERP field key, in ERP terms (text, int, float, list-item key), with datetimes reduced to ISO dates
because the CRM pairs them with date fields. ``Translator.crm_to_erp`` and ``.erp_canonical`` bring each side's values
there; ``.erp_to_crm`` turns canonical values (the CRM writes) into CRM values. A value that cannot be translated
(unmapped list item, wrong type, too long) is left out and reported as a ``Problem`` on the record, never dropped
silently or written raw; the merge then skips that field. Only *synced* rows take part.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

from erpsync.crm.fields import CRM_FIELDS, CrmField
from erpsync.protocol.models import FieldMeta, FieldType, Value
from erpsync.sync.mapping.models import (
    ENTITY_FOR_ACTOR,
    ActorTypeMapping,
    FieldMapping,
    ListMapping,
    Problem,
    is_compatible,
)
from erpsync.sync.merge import Side, is_blank, normalize


@dataclass(frozen=True)
class Translation:
    values: dict[str, Value]
    problems: tuple[Problem, ...]


class Crossing(NamedTuple):
    """An ERP actor's values on their way to the CRM (``Translator.erp_crossing``)."""

    canonical: dict[str, Value]
    """Keyed by ERP field: the values that can cross."""
    agreed: dict[str, Value]
    """Those of ``canonical`` whose rows write the CRM."""
    crm: dict[str, Value]
    """``agreed`` as CRM values, keyed by CRM field."""


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
    FieldType.CHECKBOX: lambda value, p: _checkbox(value),
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
    if pairing.meta.type is FieldType.CHECKBOX:
        return value
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


Step = Callable[[Value], Value]
"""One field's translation of a value, blank included, with what it needs bound in (raises ``_UntranslatableError``)."""


def _erp_step(pairing: _Pairing) -> Step:
    """``None if is_blank(value) else _from_erp(value, pairing)``, worked out once per field: for the usual text value
    no lookups at all (a record is translated field by field, a page record by record)."""
    convert = _FROM_ERP[pairing.meta.type]
    if pairing.meta.type is not FieldType.TEXT:
        return lambda value: None if is_blank(value) else convert(value, pairing)
    limit = _crm_limit(pairing)

    def text(value: Value) -> Value:
        if type(value) is not str:
            return None if is_blank(value) else convert(value, pairing)
        if not value.strip():
            return None
        return value if limit is None or len(value) <= limit else _checked_length(value, limit, "CRM")

    return text


def _crm_step(pairing: _Pairing) -> Step:
    """``_to_crm(value, pairing)`` worked out once per field."""
    if pairing.meta.type is FieldType.CHECKBOX:
        return lambda value: value
    if pairing.meta.type is not FieldType.LIST:
        return lambda value: None if value is None else str(normalize(value))
    if pairing.items is None:
        return lambda value: _to_crm(value, pairing)  # raises: the list has no list mapping
    items = pairing.items.items
    return lambda value: None if value is None else items.get(str(value))


@dataclass(frozen=True)
class Translator:
    """The translations of one actor type's mapping with its field pairings worked out once: a sync translates every
    record of a page by the same mapping. ``Translator.of(mapping, erp_fields, list_mappings)``."""

    pairings: tuple[_Pairing, ...]

    @cached_property
    def _erp_steps(self) -> tuple[tuple[str, Step], ...]:
        return tuple((p.meta.key, _erp_step(p)) for p in self.pairings)

    @cached_property
    def _crm_steps(self) -> tuple[tuple[str, str, Step], ...]:
        return tuple((p.meta.key, p.crm_key, _crm_step(p)) for p in self.pairings if p.writes_crm)

    @cached_property
    def _import_steps(self) -> tuple[tuple[str, Step, str | None, Step | None], ...]:
        return tuple(
            (p.meta.key, _erp_step(p), p.crm_key, _crm_step(p))
            if p.writes_crm
            else (p.meta.key, _erp_step(p), None, None)
            for p in self.pairings
        )

    @cached_property
    def written_crm_keys(self) -> frozenset[str]:
        """The CRM fields the mapping writes: the keys ``erp_crossing`` and ``canonical_to_crm`` may give."""
        return frozenset(crm_key for _, crm_key, _ in self._crm_steps)

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
        out: dict[str, Value] = {}
        problems: list[Problem] = []
        for key, step in self._erp_steps:  # as ``_translate`` does, with each field's step worked out once
            if key in values:
                try:
                    out[key] = step(values[key])
                except _UntranslatableError as problem:
                    problems.append(Problem(key, str(problem)))
        return Translation(out, tuple(problems))

    def erp_to_crm(self, values: Mapping[str, Value]) -> Translation:
        """Canonical values (e.g. the merge's CRM writes) as CRM values, keyed by CRM field, for rows that write the
        CRM."""
        pairings = [p for p in self.pairings if p.writes_crm]
        canonical = _translate(values, pairings, lambda p: p.meta.key, _from_erp)
        return Translation(self.canonical_to_crm(canonical.values), canonical.problems)

    def erp_crossing(self, values: Mapping[str, Value]) -> Crossing:
        """What ``erp_canonical`` (its values; a value that cannot cross left out) and then ``canonical_to_crm`` give,
        in one pass over the fields (an import translates every record of a page): the canonical values, those of
        them whose rows write the CRM, and those as CRM values."""
        canonical: dict[str, Value] = {}
        agreed: dict[str, Value] = {}
        crm: dict[str, Value] = {}
        for key, step, crm_key, to_crm in self._import_steps:
            if key in values:
                try:
                    value = step(values[key])
                except _UntranslatableError:
                    continue
                canonical[key] = value
                if to_crm is not None:
                    agreed[key] = value
                    crm[crm_key or ""] = to_crm(value)
        return Crossing(canonical, agreed, crm)

    def canonical_to_crm(self, canonical: Mapping[str, Value]) -> dict[str, Value]:
        """Values ``erp_canonical`` gave (checked already, so not again) as CRM values, keyed by CRM field, for rows
        that write the CRM."""
        return {crm_key: step(canonical[key]) for key, crm_key, step in self._crm_steps if key in canonical}


def _from_crm(value: Value, pairing: _Pairing) -> Value:
    return _FROM_CRM[pairing.meta.type](value, pairing)


def _from_erp(value: Value, pairing: _Pairing) -> Value:
    return _FROM_ERP[pairing.meta.type](value, pairing)


def erp_value_problem(meta: FieldMeta, value: Value) -> str | None:
    """Why ``value`` is not a valid value of the ERP field ``meta``; None when it is."""
    try:
        _FROM_ERP[meta.type](value, _Pairing.bare(meta))
    except _UntranslatableError as problem:
        return str(problem)
    return None
