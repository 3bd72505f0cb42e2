"""Search criteria as SQL conditions on the sample ERP: simple text search and §6.4 restrictions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from erpsync.errors import ValidationError
from erpsync.protocol.models import OPERATORS_BY_TYPE, FieldType, Operator, Restriction, Value

from .erp import Where
from .fields import ActorField, RecordKind
from .values import Stored, to_stored

_LIKE_ESCAPE = "\\"


def text_search(kind: RecordKind, text: str) -> Where:
    """Records whose text-search columns contain ``text``, ignoring case; everything for blank text."""
    if not text.strip():
        return Where()
    pattern = f"%{_like_literal(text.strip().casefold())}%"
    sql = " OR ".join(f"fold(t.{column}) LIKE ? ESCAPE '{_LIKE_ESCAPE}'" for column in kind.text_search)
    return Where(sql, tuple(pattern for _ in kind.text_search))


def restrictions_where(kind: RecordKind, restrictions: Sequence[Restriction]) -> Where:
    """All restrictions together (AND), or ``ValidationError`` naming the field and operator at fault."""
    where = Where()
    for restriction in restrictions:
        where = where & _restriction_where(kind, restriction)
    return where


def _restriction_where(kind: RecordKind, restriction: Restriction) -> Where:
    try:
        field = kind.field(restriction.field)
    except KeyError:
        raise ValidationError(f"unknown search field {restriction.field!r}") from None
    operator = restriction.operator
    if operator not in OPERATORS_BY_TYPE[field.type]:
        allowed = ", ".join(sorted(OPERATORS_BY_TYPE[field.type])) or "none"
        raise ValidationError(
            f"operator {operator.value!r} does not apply to {field.key!r} ({field.type} field; allowed: {allowed})"
        )
    values = _operands(field, restriction)
    if field.type is FieldType.TEXT:
        return _TEXT[operator](f"coalesce(fold(t.{field.key}), '')", tuple(_folded(value) for value in values))
    return _PLAIN[operator](f"t.{field.key}", values)


def _operands(field: ActorField, restriction: Restriction) -> tuple[Stored, ...]:
    """The restriction's values converted like the field's own values, in the number the operator takes."""
    count = len(restriction.values)
    operator = restriction.operator
    if operator is Operator.BETWEEN and count != 2:
        raise ValidationError(f"{field.key}: 'between' takes two values, got {count}")
    if operator in (Operator.ONE_OF, Operator.NOT_ONE_OF) and count < 1:
        raise ValidationError(f"{field.key}: {operator.value!r} takes at least one value")
    if operator not in (Operator.BETWEEN, Operator.ONE_OF, Operator.NOT_ONE_OF) and count != 1:
        raise ValidationError(f"{field.key}: {operator.value!r} takes one value, got {count}")
    return tuple(_operand(field, value) for value in restriction.values)


def _operand(field: ActorField, value: Value) -> Stored:
    if value is None:
        raise ValidationError(f"{field.key}: search values cannot be null")
    return to_stored(field, value, check_length=False)


def _folded(value: Stored) -> str:
    return str(value).casefold()


def _like_literal(text: str) -> str:
    for special in (_LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, _LIKE_ESCAPE + special)
    return text


def _like(pattern: Callable[[str], str], *, negate: bool = False) -> Callable[[str, tuple[Stored, ...]], Where]:
    def build(column: str, values: tuple[Stored, ...]) -> Where:
        sql = f"{column} {'NOT ' if negate else ''}LIKE ? ESCAPE '{_LIKE_ESCAPE}'"
        return Where(sql, (pattern(_like_literal(str(values[0]))),))

    return build


def _compare(sql_operator: str) -> Callable[[str, tuple[Stored, ...]], Where]:
    return lambda column, values: Where(f"{column} {sql_operator} ?", values)


def _between(column: str, values: tuple[Stored, ...]) -> Where:
    return Where(f"{column} BETWEEN ? AND ?", values)


def _one_of(column: str, values: tuple[Stored, ...]) -> Where:
    return Where(f"{column} IN ({', '.join('?' for _ in values)})", values)


def _not_one_of(column: str, values: tuple[Stored, ...]) -> Where:
    return Where(f"({column} IS NULL OR {column} NOT IN ({', '.join('?' for _ in values)}))", values)


_TEXT: dict[Operator, Callable[[str, tuple[Stored, ...]], Where]] = {
    Operator.EQ: _compare("="),
    Operator.IS_NOT: _compare("!="),
    Operator.BETWEEN: _between,
    Operator.BEGINS: _like(lambda text: f"{text}%"),
    Operator.CONTAINS: _like(lambda text: f"%{text}%"),
    Operator.ENDS: _like(lambda text: f"%{text}"),
    Operator.NOT_BEGINS: _like(lambda text: f"{text}%", negate=True),
    Operator.NOT_CONTAINS: _like(lambda text: f"%{text}%", negate=True),
    Operator.NOT_ENDS: _like(lambda text: f"%{text}", negate=True),
}
"""Text operators on a column that is already folded and never NULL (blank counts as the empty string)."""

_PLAIN: dict[Operator, Callable[[str, tuple[Stored, ...]], Where]] = {
    Operator.EQ: _compare("="),
    Operator.NE: _compare("IS NOT"),
    Operator.GT: _compare(">"),
    Operator.LT: _compare("<"),
    Operator.GE: _compare(">="),
    Operator.LE: _compare("<="),
    Operator.BETWEEN: _between,
    Operator.ONE_OF: _one_of,
    Operator.NOT_ONE_OF: _not_one_of,
    Operator.BEFORE: _compare("<"),
    Operator.AFTER: _compare(">"),
    Operator.BEFORE_OR_EQUAL: _compare("<="),
    Operator.AFTER_OR_EQUAL: _compare(">="),
}
"""Operators on numbers, checkboxes, list keys and normalised datetimes, compared as stored."""
