"""Sync filters: which records of an actor type sync at all (``SyncFilter`` on the actor type's mapping).

A filter is a list of restrictions per side, with the advanced search's operators (``protocol.models.Operator``); a
record is inside when every ERP restriction holds on its actor's values and every CRM restriction on its CRM record's
values. They are evaluated here, in the hub, on the values the engine reads anyway (the ERP filter's fields are read
with the mapped ones), so a filter costs no connector call. Text compares folded (case-insensitive, blank = empty
text); a missing value is outside any comparison but inside ``!=``, ``isnot``, ``notoneof`` and the negated text
operators, as in the sample connector's search.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from erpsync.crm.fields import CRM_FIELDS, CrmFieldType, EntityType
from erpsync.protocol.models import OPERATORS_BY_TYPE, FieldMeta, FieldType, Operator, Value
from erpsync.sync.mapping import FilterRestriction, Problem, SyncFilter

OUTSIDE_FILTER = "outside the sync filter"
"""The start of the reason a link that is outside the filter shows."""


def outside_reason(
    sync_filter: SyncFilter, erp_values: Mapping[str, Value], crm_values: Mapping[str, Any]
) -> str | None:
    """Why a record is outside ``sync_filter`` (which side, which restriction), or None when it is inside."""
    for side, restrictions, values in (("ERP", sync_filter.erp, erp_values), ("CRM", sync_filter.crm, crm_values)):
        failed = next((r for r in restrictions if not holds(r, values.get(r.field))), None)
        if failed is not None:
            shown = ", ".join(str(value) for value in failed.values)
            return f"{OUTSIDE_FILTER} ({side}: {failed.field} {failed.operator.value} {shown})".replace(" )", ")")
    return None


def inside_erp(restrictions: Sequence[FilterRestriction], erp_values: Mapping[str, Value]) -> bool:
    """Whether an actor's values pass every ERP restriction (imports honour the ERP side)."""
    return all(holds(r, erp_values.get(r.field)) for r in restrictions)


def holds(restriction: FilterRestriction, value: Any) -> bool:
    """Whether one restriction holds on one value."""
    return _OPERATORS[restriction.operator](value, restriction.values)


# --- checking a filter ----------------------------------------------------------------------------------------------

CRM_AS_ERP = {
    CrmFieldType.TEXT: FieldType.TEXT,
    CrmFieldType.DATE: FieldType.DATETIME,
    CrmFieldType.LIST: FieldType.LIST,
    CrmFieldType.CHECKBOX: FieldType.CHECKBOX,
}
"""The operators a CRM field takes are those of the ERP field type it pairs with."""
_MULTI = (Operator.BETWEEN, Operator.ONE_OF, Operator.NOT_ONE_OF)
_BLANK_ALLOWED = frozenset({Operator.EQ, Operator.NE, Operator.IS_NOT})
"""Operators whose value may be null: a blank value (``isnot`` null: *has a value*)."""


def filter_problems(sync_filter: SyncFilter, erp_fields: Sequence[FieldMeta], entity: EntityType) -> list[Problem]:
    """Every problem of ``sync_filter``: an unknown field, an operator that does not fit the field's type, the wrong
    number of values (the rules of the advanced search)."""
    erp_types = {meta.key: meta.type for meta in erp_fields}
    crm_types = {key: CRM_AS_ERP[field.type] for key, field in CRM_FIELDS[entity].items()}
    return [
        Problem(restriction.field, message, scope=f"filter.{side}.{index}")
        for side, restrictions, types in (("erp", sync_filter.erp, erp_types), ("crm", sync_filter.crm, crm_types))
        for index, restriction in enumerate(restrictions)
        if (message := _problem(restriction, types.get(restriction.field))) is not None
    ]


def _problem(restriction: FilterRestriction, field_type: FieldType | None) -> str | None:
    operator, count = restriction.operator, len(restriction.values)
    if field_type is None:
        return "no such field"
    allowed = OPERATORS_BY_TYPE[field_type]
    if operator not in allowed:
        names = ", ".join(sorted(allowed)) or "none"
        return f"{operator.value!r} does not apply to a {field_type.value} field (use: {names})"
    if operator not in _BLANK_ALLOWED and any(value is None for value in restriction.values):
        return "filter values cannot be null (only =, != and isnot take null: a blank value)"
    return _count_problem(operator, count)


def _count_problem(operator: Operator, count: int) -> str | None:
    if operator is Operator.BETWEEN and count != 2:
        return f"'between' takes two values, not {count}"
    if operator in _MULTI[1:] and count == 0:
        return f"{operator.value!r} takes one value or more"
    if operator not in _MULTI and count != 1:
        return f"{operator.value!r} takes one value, not {count}"
    return None


# --- the operators --------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).casefold()


def _same(value: Any, other: Value) -> bool:
    if isinstance(value, str) or isinstance(other, str):
        return _text(value) == _text(other)
    return bool(value == other)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, tuple[Value, ...]], bool]:
    def check(value: Any, values: tuple[Value, ...]) -> bool:
        if value is None or not values or values[0] is None:
            return False
        try:
            return test(value, values[0])
        except TypeError:  # a number against text: outside, never an error in the middle of a run
            return False

    return check


def _between(value: Any, values: tuple[Value, ...]) -> bool:
    if value is None or len(values) != 2:
        return False
    try:
        return bool(values[0] <= value <= values[1])
    except TypeError:
        return False


def _one_of(value: Any, values: tuple[Value, ...]) -> bool:
    return value is not None and any(_same(value, other) for other in values)


def _texts(test: Callable[[str, str], bool], *, negate: bool = False) -> Callable[[Any, tuple[Value, ...]], bool]:
    def check(value: Any, values: tuple[Value, ...]) -> bool:
        found = bool(values) and test(_text(value), _text(values[0]))
        return found != negate

    return check


_OPERATORS: dict[Operator, Callable[[Any, tuple[Value, ...]], bool]] = {
    Operator.EQ: lambda value, values: bool(values) and _same(value, values[0]),
    Operator.NE: lambda value, values: not (bool(values) and _same(value, values[0])),
    Operator.IS_NOT: lambda value, values: not (bool(values) and _same(value, values[0])),
    Operator.GT: _ordered(lambda a, b: bool(a > b)),
    Operator.LT: _ordered(lambda a, b: bool(a < b)),
    Operator.GE: _ordered(lambda a, b: bool(a >= b)),
    Operator.LE: _ordered(lambda a, b: bool(a <= b)),
    Operator.BEFORE: _ordered(lambda a, b: bool(str(a) < str(b))),
    Operator.AFTER: _ordered(lambda a, b: bool(str(a) > str(b))),
    Operator.BEFORE_OR_EQUAL: _ordered(lambda a, b: bool(str(a) <= str(b))),
    Operator.AFTER_OR_EQUAL: _ordered(lambda a, b: bool(str(a) >= str(b))),
    Operator.BETWEEN: _between,
    Operator.ONE_OF: _one_of,
    Operator.NOT_ONE_OF: lambda value, values: not _one_of(value, values),
    Operator.BEGINS: _texts(str.startswith),
    Operator.CONTAINS: _texts(lambda text, part: part in text),
    Operator.ENDS: _texts(str.endswith),
    Operator.NOT_BEGINS: _texts(str.startswith, negate=True),
    Operator.NOT_CONTAINS: _texts(lambda text, part: part in text, negate=True),
    Operator.NOT_ENDS: _texts(str.endswith, negate=True),
}
"""Each search operator evaluated in the hub, on one value and the restriction's values."""
