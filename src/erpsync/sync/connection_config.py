"""Config values of an ERP connection checked against the connector's field metadata (SPEC §4 step 4).

Password fields are split off so they can be stored encrypted and never returned; label fields carry no value;
read-only fields keep the connector's default. A refusal (``InvalidConfigError``) carries each problem as a code and
its values (``ConfigProblem``), which the web pages word in the page's language (catalog keys
``config.problem.<code>``); its message, for the API and the command line, is the English text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from erpsync.errors import ValidationError
from erpsync.protocol import models as m


@dataclass(frozen=True)
class SplitConfig:
    plain: dict[str, m.Value]
    secrets: dict[str, str]


_ENGLISH = {
    "not_a_field": "{field}: not a config field of this connector",
    "required": "{field}: required",
    "wrong_type": "{field}: expected a {type} value, got {value}",
    "too_long": "{field}: at most {count} characters",
}
PROBLEM_CODES = frozenset(_ENGLISH)


@dataclass(frozen=True)
class ConfigProblem:
    """One config value's problem: ``code`` (one of ``PROBLEM_CODES``), the field as the connector labels it (its key
    when it has no label) and the values the wording names (``type``: a field type, ``value``: the value's repr,
    ``count``: a maximum length)."""

    code: str
    field: str
    values: Mapping[str, str | int] = dataclass_field(default_factory=dict)

    @property
    def text(self) -> str:
        return _ENGLISH[self.code].format(field=self.field, **self.values)


class InvalidConfigError(ValidationError):
    """Config values the connector's field metadata refuses; ``problems``: every one of them."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        super().__init__("invalid config: " + "; ".join(problem.text for problem in problems))
        self.problems = tuple(problems)


def _is_blank(value: m.Value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _type_problem(field: m.FieldMeta, value: m.Value) -> ConfigProblem | None:
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
        return ConfigProblem("wrong_type", field.label or field.key, {"type": kind.value, "value": repr(value)})
    if field.max_length and isinstance(value, str) and len(value) > field.max_length:
        return ConfigProblem("too_long", field.label or field.key, {"count": field.max_length})
    return None


def _parses_as_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_config(fields: Sequence[m.FieldMeta], values: Mapping[str, m.Value]) -> dict[str, m.Value]:
    """The config to send to the connector, or ``InvalidConfigError`` listing every problem at once."""
    by_key = {field.key: field for field in fields}
    problems = [ConfigProblem("not_a_field", key) for key in values if key not in by_key]
    config: dict[str, m.Value] = {}
    for field in fields:
        if field.type == m.FieldType.LABEL:
            continue
        value = field.default if field.access == m.Access.READ_ONLY else values.get(field.key, field.default)
        if _is_blank(value):
            if field.access == m.Access.MANDATORY:
                problems.append(ConfigProblem("required", field.label or field.key))
            continue
        problem = _type_problem(field, value)
        if problem:
            problems.append(problem)
        config[field.key] = value
    if problems:
        raise InvalidConfigError(problems)
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
