"""ERP values typed in forms (create defaults, create prompts, search criteria): form text -> typed value, and back.

Checkbox values are a three-way choice (blank, yes, no) in these forms, because "not given" must stay possible.

Public names: ``YES``, ``NO``, ``parse_value``, ``value_text``.
"""

from __future__ import annotations

from collections.abc import Callable

from erpsync.protocol import models as m

YES = "true"
NO = "false"

_NUMBER_PARSERS: dict[m.FieldType, tuple[Callable[[str], m.Value], str]] = {
    m.FieldType.INTEGER: (int, "error.integer"),
    m.FieldType.DOUBLE: (float, "error.number"),
}


def parse_value(field_type: m.FieldType, text: str) -> tuple[m.Value, str | None]:
    """The typed value of ``text`` (None when blank) and the message key of a value of the wrong kind."""
    text = text.strip()
    if not text:
        return None, None
    if field_type is m.FieldType.CHECKBOX:
        return (text == YES, None) if text in (YES, NO) else (None, "error.yes_no")
    if field_type in _NUMBER_PARSERS:
        parse, error_key = _NUMBER_PARSERS[field_type]
        try:
            return parse(text), None
        except ValueError:
            return None, error_key
    return text, None


def value_text(value: m.Value) -> str:
    """A value as an input's text (the inverse of ``parse_value``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    return str(value)
