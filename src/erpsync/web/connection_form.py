"""The connection dialog's form (SPEC §4): config widgets from the connector's field metadata, and form text ->
typed config values and visibility.

Config inputs are named ``config.<key>`` so they never clash with the dialog's own fields.

Public names: ``CONFIG_PREFIX``, ``WIDGETS``, ``ordered_fields``, ``config_from_form``, ``visibility_from_form``,
``form_text``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.datastructures import FormData

from erpsync.protocol import models as m
from erpsync.sync.connection_visibility import Visibility

CONFIG_PREFIX = "config."

WIDGETS: dict[m.FieldType, str] = {
    m.FieldType.TEXT: "text",
    m.FieldType.PASSWORD: "password",
    m.FieldType.INTEGER: "number",
    m.FieldType.DOUBLE: "number",
    m.FieldType.CHECKBOX: "checkbox",
    m.FieldType.LIST: "select",
    m.FieldType.DATETIME: "datetime-local",
    m.FieldType.LABEL: "label",
}
"""The HTML widget of each connector field type."""

_NUMBER_PARSERS: dict[m.FieldType, tuple[Callable[[str], m.Value], str]] = {
    m.FieldType.INTEGER: (int, "error.integer"),
    m.FieldType.DOUBLE: (float, "error.number"),
}


def ordered_fields(fields: Sequence[m.FieldMeta]) -> list[m.FieldMeta]:
    return sorted(fields, key=lambda field: field.rank)


def _carries_value(field: m.FieldMeta) -> bool:
    # Labels have no value; read-only fields always take the connector's default (connection_config.check_config).
    return field.type != m.FieldType.LABEL and field.access != m.Access.READ_ONLY


def _value(field: m.FieldMeta, form: FormData) -> tuple[m.Value, str | None]:
    name = CONFIG_PREFIX + field.key
    if field.type == m.FieldType.CHECKBOX:
        return name in form, None
    text = str(form.get(name) or "").strip()
    if not text:
        return None, None
    if field.type in _NUMBER_PARSERS:
        parse, error_key = _NUMBER_PARSERS[field.type]
        try:
            return parse(text), None
        except ValueError:
            return None, error_key
    return text, None


def config_from_form(fields: Sequence[m.FieldMeta], form: FormData) -> tuple[dict[str, m.Value], dict[str, str]]:
    """The typed config (blank fields None) and, per field key, the message key of a value that is not a number."""
    config: dict[str, m.Value] = {}
    errors: dict[str, str] = {}
    for field in filter(_carries_value, fields):
        value, error_key = _value(field, form)
        config[field.key] = value
        if error_key:
            errors[field.key] = error_key
    return config, errors


def _ids(form: FormData, name: str) -> tuple[int, ...]:
    return tuple(int(text) for text in map(str, form.getlist(name)) if text.isdigit())


def visibility_from_form(form: FormData) -> Visibility:
    if form.get("visibility") != "specified":
        return Visibility(everyone=True)
    return Visibility(everyone=False, users=_ids(form, "visible_users"), groups=_ids(form, "visible_groups"))


def form_text(value: m.Value) -> str:
    """A stored config value as an input's text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)
