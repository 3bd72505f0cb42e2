"""The meaning of each search operator (docs/protocol.md "Search restrictions"), as the kit expects it applied.

Text compares ignoring case; ``between`` includes both ends; datetimes compare as instants (naive means UTC).
``operands`` picks values from the records themselves, so a read-only field is tested as well as a writable one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from erpsync.protocol.models import FieldType, Operator, Value

Comparable = Any  # str (case-folded), float or datetime, by field type


def matches(field_type: FieldType, operator: Operator, value: Value, operands: Sequence[Value]) -> bool:
    """Whether a record whose field holds ``value`` satisfies ``field operator operands``."""
    if operator in (Operator.ONE_OF, Operator.NOT_ONE_OF):
        found = value in operands
        return found if operator == Operator.ONE_OF else not found
    subject = comparable(field_type, value)
    bounds = [comparable(field_type, operand) for operand in operands]
    if operator in _TEXT_TESTS:
        return _TEXT_TESTS[operator](subject, bounds[0])
    if operator == Operator.BETWEEN:
        return bool(bounds[0] <= subject <= bounds[1])
    return bool(_ORDER_TESTS[operator](subject, bounds[0]))


def comparable(field_type: FieldType, value: Value) -> Comparable:
    """The value in the form the operators compare; ``ValueError`` when it does not fit the field type."""
    if value is None:
        raise ValueError("blank value")
    if field_type in (FieldType.INTEGER, FieldType.DOUBLE):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r} is not a number")
        return float(value)
    if field_type == FieldType.DATETIME:
        instant = datetime.fromisoformat(str(value))
        return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    if field_type == FieldType.CHECKBOX:
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not a boolean")
        return value
    return str(value).casefold()


def operands(field_type: FieldType, operator: Operator, values: Sequence[Value]) -> list[Value]:
    """Operands for ``operator`` drawn from the records' ``values`` (in creation order, none blank)."""
    first = values[0]
    if operator == Operator.BETWEEN:
        ordered = sorted(values, key=lambda value: comparable(field_type, value))
        return [ordered[0], ordered[len(ordered) // 2]]
    if operator in (Operator.ONE_OF, Operator.NOT_ONE_OF):
        return [first]
    if field_type != FieldType.TEXT:
        return [values[len(values) // 2]] if operator != Operator.EQ else [first]
    return [_text_operand(operator, str(first)).swapcase()]  # swapped case: matching must ignore it


def _text_operand(operator: Operator, text: str) -> str:
    if operator in (Operator.BEGINS, Operator.NOT_BEGINS):
        return text[:5]
    if operator in (Operator.ENDS, Operator.NOT_ENDS):
        return text[-3:]
    if operator in (Operator.CONTAINS, Operator.NOT_CONTAINS):
        middle = len(text) // 2
        return text[max(middle - 2, 0) : middle + 2]
    return text


_TEXT_TESTS: dict[Operator, Callable[[str, str], bool]] = {
    Operator.BEGINS: lambda subject, operand: subject.startswith(operand),
    Operator.CONTAINS: lambda subject, operand: operand in subject,
    Operator.ENDS: lambda subject, operand: subject.endswith(operand),
    Operator.NOT_BEGINS: lambda subject, operand: not subject.startswith(operand),
    Operator.NOT_CONTAINS: lambda subject, operand: operand not in subject,
    Operator.NOT_ENDS: lambda subject, operand: not subject.endswith(operand),
    Operator.IS_NOT: lambda subject, operand: subject != operand,
}
_ORDER_TESTS: dict[Operator, Callable[[Comparable, Comparable], bool]] = {
    Operator.EQ: lambda subject, operand: subject == operand,
    Operator.NE: lambda subject, operand: subject != operand,
    Operator.GT: lambda subject, operand: subject > operand,
    Operator.AFTER: lambda subject, operand: subject > operand,
    Operator.LT: lambda subject, operand: subject < operand,
    Operator.BEFORE: lambda subject, operand: subject < operand,
    Operator.GE: lambda subject, operand: subject >= operand,
    Operator.AFTER_OR_EQUAL: lambda subject, operand: subject >= operand,
    Operator.LE: lambda subject, operand: subject <= operand,
    Operator.BEFORE_OR_EQUAL: lambda subject, operand: subject <= operand,
}
