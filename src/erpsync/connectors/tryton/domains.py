"""Search restrictions (SPEC §6.4) as Tryton domains.

Text operators use ``ilike`` so matching ignores case; LIKE wildcards in the user's text are escaped. A negated
operator also matches an empty field, the way a user reads "city does not contain X". Tryton's domains cannot lower-case
a column, so text ``between`` is also checked by the connector after the search (see ``search_advanced``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from erpsync.connectors.tryton.fields import LIST_KEYED_BY_ID, ActorField
from erpsync.errors import ValidationError
from erpsync.protocol.models import OPERATORS_BY_TYPE, FieldType, Operator, Restriction, Value

Domain = list[Any]

_TEXT_PATTERNS = {
    Operator.EQ: ("ilike", "{}"),
    Operator.BEGINS: ("ilike", "{}%"),
    Operator.CONTAINS: ("ilike", "%{}%"),
    Operator.ENDS: ("ilike", "%{}"),
    Operator.NOT_BEGINS: ("not ilike", "{}%"),
    Operator.NOT_CONTAINS: ("not ilike", "%{}%"),
    Operator.NOT_ENDS: ("not ilike", "%{}"),
    Operator.IS_NOT: ("not ilike", "{}"),
}
_COMPARISONS = {
    Operator.EQ: "=",
    Operator.NE: "!=",
    Operator.GT: ">",
    Operator.LT: "<",
    Operator.GE: ">=",
    Operator.LE: "<=",
    Operator.BEFORE: "<",
    Operator.AFTER: ">",
    Operator.BEFORE_OR_EQUAL: "<=",
    Operator.AFTER_OR_EQUAL: ">=",
}


def restriction_domain(field: ActorField, restriction: Restriction) -> Domain:
    """The Tryton clauses (to be and-ed) of one restriction on ``field``, or ``ValidationError`` for a bad one."""
    if field.search_path is None:
        raise ValidationError(f"field {field.key!r} cannot be searched")
    operator = restriction.operator
    if operator not in OPERATORS_BY_TYPE[field.type]:
        raise ValidationError(f"operator {operator.value!r} does not apply to {field.type.value} field {field.key!r}")
    values = [_value(field, value) for value in restriction.values]
    _check_arity(operator, values)
    return _domain(field, field.search_path, operator, values)


def text_search(text: str) -> Domain:
    """The simple search: name contains the text, ignoring case."""
    return [["name", "ilike", f"%{escape_like(text)}%"]]


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _domain(field: ActorField, path: str, operator: Operator, values: list[Any]) -> Domain:
    if operator == Operator.BETWEEN:
        if field.search_many:  # both bounds on the same related record
            relation, _, leaf = path.partition(".")
            return [[relation, "where", [[leaf, ">=", values[0]], [leaf, "<=", values[1]]]]]
        return [[path, ">=", values[0]], [path, "<=", values[1]]]
    if operator in (Operator.ONE_OF, Operator.NOT_ONE_OF):
        if operator == Operator.ONE_OF:
            return [[path, "in", values]]
        return _negated(field, path, [path, "in", values])
    if field.type == FieldType.TEXT:
        like, pattern = _TEXT_PATTERNS[operator]
        matching = [path, "ilike", pattern.format(escape_like(values[0]))]
        return [matching] if like == "ilike" else _negated(field, path, matching)
    return [[path, _COMPARISONS[operator], values[0]]]


def _negated(field: ActorField, path: str, matching: list[Any]) -> Domain:
    """Records that ``matching`` does not select, an empty field included.

    On a field held by related records (a party's addresses or categories) that means no related record matches:
    Tryton reads a plain negation there as "some related record does not match".
    """
    if not field.search_many:
        return [["OR", [path, f"not {matching[1]}", matching[2]], [path, "=", None]]]
    relation, _, leaf = path.partition(".")
    return [[relation, "not where", [[leaf or "id", *matching[1:]]]]]


def _check_arity(operator: Operator, values: list[Any]) -> None:
    if operator == Operator.BETWEEN:
        expected_ok = len(values) == 2
    elif operator in (Operator.ONE_OF, Operator.NOT_ONE_OF):
        expected_ok = len(values) >= 1
    else:
        expected_ok = len(values) == 1
    if not expected_ok:
        raise ValidationError(f"operator {operator.value!r} got {len(values)} values")


def _value(field: ActorField, value: Value) -> Any:
    """A restriction value as the Python value Tryton compares the field with."""
    if value is None:
        raise ValidationError(f"a search value for {field.key!r} is empty")
    try:
        return _convert(field, value)
    except (TypeError, ValueError) as error:
        raise ValidationError(f"{value!r} is not a valid value for {field.key!r}") from error


def _convert(field: ActorField, value: Value) -> Any:
    if field.type == FieldType.LIST:
        return int(str(value)) if field.list_name in LIST_KEYED_BY_ID else str(value)
    if field.type in (FieldType.INTEGER, FieldType.DOUBLE):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(value)
        return value
    if field.type == FieldType.CHECKBOX:
        if not isinstance(value, bool):
            raise TypeError(value)
        return value
    if field.type == FieldType.DATETIME:
        return parse_datetime(str(value))
    return str(value)


def parse_datetime(text: str) -> dt.date | dt.datetime:
    """An ISO 8601 date or datetime; an aware datetime becomes naive UTC, Tryton's convention."""
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
