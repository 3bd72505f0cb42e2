"""Conversion of field values between the protocol (JSON scalars) and the sample ERP's SQLite columns."""

from __future__ import annotations

from datetime import UTC, datetime

from erpsync.errors import ValidationError
from erpsync.protocol.models import FieldType, Value

from .fields import LISTS, ActorField
from .language import TEXTS

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
Stored = str | int | float | None
_LIST_KEYS = {name: frozenset(item.key for item in items) for name, items in LISTS.items()}


def parse_datetime(text: str, *, what: str) -> datetime:
    """An ISO 8601 date or datetime as an aware UTC datetime (naive means UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{what}: {text!r} is not an ISO 8601 date or datetime") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_stored(field: ActorField, value: Value, *, check_length: bool = True) -> Stored:
    """The column value for ``value``, or ``ValidationError`` naming the field and what is wrong."""
    if field.type is FieldType.CHECKBOX:
        return _checkbox(field, value)
    if value is None or (value == "" and field.type is not FieldType.TEXT):
        return None
    converted = _CONVERTERS[field.type](field, value)
    if check_length and field.max_length and isinstance(converted, str) and len(converted) > field.max_length:
        raise ValidationError(TEXTS.text("{key}: longer than {most} characters", key=field.key, most=field.max_length))
    return converted


def from_stored(field: ActorField, stored: Stored) -> Value:
    if field.type is FieldType.CHECKBOX:
        return bool(stored)
    return stored


def _text(field: ActorField, value: Value) -> Stored:
    if not isinstance(value, str):
        raise ValidationError(f"{field.key}: expected text, got {type(value).__name__}")
    return value


def _integer(field: ActorField, value: Value) -> Stored:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field.key}: expected a whole number, got {value!r}")
    return value


def _double(field: ActorField, value: Value) -> Stored:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{field.key}: expected a number, got {value!r}")
    return float(value)


def _checkbox(field: ActorField, value: Value) -> Stored:
    if not isinstance(value, bool):
        raise ValidationError(f"{field.key}: expected true or false, got {value!r}")
    return int(value)


def _list_key(field: ActorField, value: Value) -> Stored:
    if value not in _LIST_KEYS[field.list_name or ""]:
        raise ValidationError(f"{field.key}: {value!r} is not a key of list {field.list_name}")
    return str(value)


def _datetime(field: ActorField, value: Value) -> Stored:
    if not isinstance(value, str):
        raise ValidationError(f"{field.key}: expected an ISO 8601 datetime string, got {value!r}")
    return parse_datetime(value, what=field.key).strftime(DATETIME_FORMAT)


def _not_a_value(field: ActorField, value: Value) -> Stored:
    raise ValidationError(f"{field.key}: a {field.type} field holds no value")


_CONVERTERS = {
    FieldType.TEXT: _text,
    FieldType.PASSWORD: _text,
    FieldType.INTEGER: _integer,
    FieldType.DOUBLE: _double,
    FieldType.CHECKBOX: _checkbox,
    FieldType.LIST: _list_key,
    FieldType.DATETIME: _datetime,
    FieldType.LABEL: _not_a_value,
}
