"""The search rules: every operator on every searchable field selects exactly the expected records, and a blank field
matches every negated operator and no other."""

from __future__ import annotations

from typing import Any

from erpsync.protocol import models as m
from erpsync.testing.conformance import semantics
from erpsync.testing.conformance.context import Context, strict
from erpsync.testing.conformance.rule import CannotCheckError, Evidence, Rule, RuleFailedError
from erpsync.testing.conformance.samples import create, create_samples, name_field, sample_values, subject_type

SEARCH_SAMPLES = 3
PURPOSE = "search"


def check_search_operators(ctx: Context, evidence: Evidence) -> None:
    if not ctx.info().capabilities.advanced_search:
        raise CannotCheckError("the connector declares no advanced search")
    actor_types = ctx.creatable_types()
    if not actor_types:
        raise CannotCheckError(
            "the connector creates no actor type, so the kit has no records of known values to search"
        )
    for actor_type in actor_types:
        _check_actor_type(ctx, evidence, actor_type)


def _check_actor_type(ctx: Context, evidence: Evidence, actor_type: m.ActorType) -> None:
    tag_field = name_field(ctx, actor_type)
    searchable = ctx.searchable(actor_type)
    if tag_field not in searchable:
        evidence.note(f"{actor_type}: not checked, its tagged field {tag_field!r} is not searchable")
        return
    records = create_samples(ctx, actor_type, purpose=PURPOSE, count=SEARCH_SAMPLES)
    # The tag and purpose single out these records, even among others this run created.
    within_run = {"field": tag_field, "operator": m.Operator.CONTAINS, "values": [f"{ctx.tag} {PURPOSE}"]}
    keys = _findable(ctx, evidence, actor_type, within_run, [str(record.erp_key) for record in records])
    if not keys:
        return
    stored = _stored_values(ctx, actor_type, keys, searchable)
    types = {meta.key: meta.type for meta in ctx.fields(actor_type)}
    cases = 0
    for key in searchable:
        values = [stored.get(erp_key, {}).get(key) for erp_key in keys]
        if None in values:
            evidence.note(f"{actor_type}.{key}: not checked, blank in the kit's records")
            continue
        for operator in sorted(m.OPERATORS_BY_TYPE[types[key]]):
            search = _Search(ctx, actor_type, within_run, keys)
            cases += search.check(evidence, key=key, field_type=types[key], operator=operator, values=values)
    evidence.note(f"{actor_type}: {cases} operator cases on {len(searchable)} searchable fields")


def _findable(
    ctx: Context, evidence: Evidence, actor_type: m.ActorType, within_run: dict[str, Any], keys: list[str]
) -> list[str]:
    """The records a search on the run tag alone finds; a connector may hide some by design (e.g. inactive ones)."""
    payload = ctx.on_connection(actor_type=actor_type, restrictions=[within_run], field_keys=[], limit=50)
    found = {str(actor.erp_key) for actor in ctx.request("search_advanced", payload, m.ActorsResponse).actors}
    findable = [key for key in keys if key in found]
    hidden = [f"#{keys.index(key)}" for key in keys if key not in found]
    if hidden:
        evidence.note(f"{actor_type}: {hidden} hidden from searches by the connector, left out of the cases")
    evidence.expect(
        bool(findable), f"{actor_type}: {within_run} finds none of the records {keys}; found {sorted(found)}"
    )
    return findable


def _stored_values(
    ctx: Context, actor_type: m.ActorType, keys: list[str], field_keys: list[str]
) -> dict[str, dict[str, m.Value]]:
    """The values as the ERP stored them, which a search must agree with."""
    payload = ctx.on_connection(actor_type=actor_type, erp_keys=keys, field_keys=field_keys)
    actors = ctx.request("get_actors", payload, m.GetActorsResponse).actors
    return {str(actor.erp_key): actor.fields for actor in actors}


class _Search:
    """One ``search_advanced`` call confined to the kit's records, judged against ``semantics``."""

    def __init__(self, ctx: Context, actor_type: m.ActorType, within_run: dict[str, Any], keys: list[str]) -> None:
        self._ctx, self._actor_type, self._within_run, self._keys = ctx, actor_type, within_run, keys

    def check(
        self, evidence: Evidence, *, key: str, field_type: m.FieldType, operator: m.Operator, values: list[m.Value]
    ) -> int:
        case = f"{self._actor_type}.{key} {operator!s}"
        try:
            operands = semantics.operands(field_type, operator, values)
            expected = {
                k
                for k, v in zip(self._keys, values, strict=True)
                if semantics.matches(field_type, operator, v, operands)
            }
        except ValueError as error:
            evidence.problems.append(f"{case}: stored values {values!r} do not fit type {field_type!s}: {error}")
            return 0
        restriction = {"field": key, "operator": operator, "values": operands}
        found = self._found(evidence, case, restriction)
        if found is not None:
            evidence.expect(
                found == expected, f"{case} {operands!r}: expected {self._names(expected)}, got {self._names(found)}"
            )
        return 1

    def _found(self, evidence: Evidence, case: str, restriction: dict[str, Any]) -> set[str] | None:
        payload = self._ctx.on_connection(
            actor_type=self._actor_type, restrictions=[self._within_run, restriction], field_keys=[], limit=50
        )
        answer = self._ctx.wire.call("search_advanced", payload)
        if not evidence.expect(answer.ok, f"{case} {restriction['values']!r}: {answer.describe()}"):
            return None
        return {str(actor.erp_key) for actor in strict(m.ActorsResponse, answer.document).actors}

    def _names(self, keys: set[str]) -> str:
        """Records as #index in creation order, anything else by its erp_key."""
        names = [f"#{self._keys.index(key)}" if key in self._keys else repr(key) for key in keys]
        return "{" + ", ".join(sorted(names)) + "}"


BLANK_CASES = (
    (m.Operator.CONTAINS, False),
    (m.Operator.BEGINS, False),
    (m.Operator.NOT_CONTAINS, True),
    (m.Operator.NOT_BEGINS, True),
    (m.Operator.NOT_ENDS, True),
    (m.Operator.IS_NOT, True),
)
"""Operator on a text field, and whether a record with that field blank must be selected."""


def check_search_blank(ctx: Context, evidence: Evidence) -> None:
    """A record with a text field left blank: selected by every negated operator, by no positive one."""
    if not ctx.info().capabilities.advanced_search:
        raise CannotCheckError("the connector declares no advanced search")
    actor_type = subject_type(ctx)
    tag_field = name_field(ctx, actor_type)
    searchable = set(ctx.searchable(actor_type))
    blankable = [
        meta.key
        for meta in ctx.fields(actor_type)
        if meta.type == m.FieldType.TEXT
        and meta.access == m.Access.NORMAL
        and meta.key in searchable
        and meta.key != tag_field
    ]
    if not blankable or tag_field not in searchable:
        evidence.note(f"{actor_type} has no optional searchable text field besides {tag_field!r}")
        return
    field_key = blankable[0]
    values = sample_values(ctx, actor_type, purpose="blank", index=0)
    values.pop(field_key, None)
    actor = m.Actor(actor_type=actor_type, fields=values)
    blank = create(ctx, actor, idempotency_key=f"{ctx.tag}-blank")
    stored = _stored_values(ctx, actor_type, [str(blank.erp_key)], [field_key]).get(str(blank.erp_key), {})
    if stored.get(field_key) not in (None, ""):
        raise RuleFailedError(f"{field_key} was left out of create_actor, yet reads {stored.get(field_key)!r}")
    within_run = {"field": tag_field, "operator": m.Operator.CONTAINS, "values": [f"{ctx.tag} blank"]}
    for operator, selected in BLANK_CASES:
        restriction = {"field": field_key, "operator": operator, "values": ["zq"]}
        payload = ctx.on_connection(actor_type=actor_type, restrictions=[within_run, restriction], field_keys=[])
        found = {str(a.erp_key) for a in ctx.request("search_advanced", payload, m.ActorsResponse).actors}
        evidence.expect(
            (str(blank.erp_key) in found) == selected,
            f"{field_key} {operator!s} 'zq' on a record with {field_key} blank: "
            f"{'expected it selected' if selected else 'expected it left out'}, got {sorted(found)}",
        )
    evidence.note(f"{actor_type}.{field_key} blank: {len(BLANK_CASES)} operators")


RULES = (
    Rule(
        "search_operators",
        "each search operator selects exactly the expected records, text ignoring case",
        check_search_operators,
    ),
    Rule("search_blank", "a blank field matches every negated operator and no positive one", check_search_blank),
)
