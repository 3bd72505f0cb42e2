"""Config values of an ERP connection checked against the connector's field metadata (SPEC §4 step 4).

Password fields are split off so they can be stored encrypted and never returned; label fields carry no value;
read-only fields keep the connector's default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from erpsync.errors import ValidationError
from erpsync.protocol import models as m


@dataclass(frozen=True)
class SplitConfig:
    plain: dict[str, m.Value]
    secrets: dict[str, str]


def _is_blank(value: m.Value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _type_problem(field: m.FieldMeta, value: m.Value) -> str | None:
    kind = field.type
    if kind in (m.FieldType.TEXT, m.FieldType.PASSWORD, m.FieldType.LIST):
        ok = isinstance(value, str)
    elif kind == m.FieldType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == m.FieldType.DOUBLE:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == m.FieldType.CHECKBOX:
        ok = isinstance(value, bool)
    elif kind == m.FieldType.DATETIME:
        ok = isinstance(value, str) and _parses_as_datetime(value)
    else:
        return None
    if not ok:
        return f"{field.label or field.key}: expected a {kind.value} value, got {value!r}"
    if field.max_length and isinstance(value, str) and len(value) > field.max_length:
        return f"{field.label or field.key}: at most {field.max_length} characters"
    return None


def _parses_as_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_config(fields: Sequence[m.FieldMeta], values: Mapping[str, m.Value]) -> dict[str, m.Value]:
    """The config to send to the connector, or ``ValidationError`` listing every problem at once."""
    by_key = {field.key: field for field in fields}
    problems = [f"{key}: not a config field of this connector" for key in values if key not in by_key]
    config: dict[str, m.Value] = {}
    for field in fields:
        if field.type == m.FieldType.LABEL:
            continue
        value = field.default if field.access == m.Access.READ_ONLY else values.get(field.key, field.default)
        if _is_blank(value):
            if field.access == m.Access.MANDATORY:
                problems.append(f"{field.label or field.key}: required")
            continue
        problem = _type_problem(field, value)
        if problem:
            problems.append(problem)
        config[field.key] = value
    if problems:
        raise ValidationError("invalid config: " + "; ".join(problems))
    return config


def missing_mandatory(fields: Sequence[m.FieldMeta], values: Mapping[str, m.Value]) -> list[str]:
    return [
        field.key
        for field in fields
        if field.access == m.Access.MANDATORY and field.type != m.FieldType.LABEL and _is_blank(values.get(field.key))
    ]


def password_keys(fields: Sequence[m.FieldMeta]) -> set[str]:
    return {field.key for field in fields if field.type == m.FieldType.PASSWORD}


def split(fields: Sequence[m.FieldMeta], config: Mapping[str, m.Value]) -> SplitConfig:
    secret_keys = password_keys(fields)
    return SplitConfig(
        plain={k: v for k, v in config.items() if k not in secret_keys},
        secrets={k: str(v) for k, v in config.items() if k in secret_keys},
    )


def with_kept_secrets(
    fields: Sequence[m.FieldMeta], values: Mapping[str, m.Value], stored_secrets: Mapping[str, str]
) -> dict[str, m.Value]:
    """An edit leaves a password field blank to keep the stored value (which is never shown again)."""
    merged = dict(values)
    for key in password_keys(fields):
        if _is_blank(merged.get(key)) and key in stored_secrets:
            merged[key] = stored_secrets[key]
    return merged
