"""Differences between what a hub has and what a configuration file says, per object and field.

``differences(old, new)`` walks two models of the file (``sync.config_file``) field by field and dict key by key;
each ``Difference`` names its place (``mappings.customer.fields``, ``config.password``) and describes itself as
``old -> new`` only for short plain values, and a secret only as changed: a diff never shows a secret.

Public names: ``Difference``, ``differences``, ``paths_and_details``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Difference:
    path: str
    old: Any
    new: Any

    def describe(self, secrets: Collection[str] = ()) -> str | None:
        """``path: old -> new`` for short plain values; a secret says only that it changes; None for the rest."""
        if self.path in secrets:
            return f"{self.path}: another secret"
        if _plain(self.old) and _plain(self.new):
            return f"{self.path}: {_shown(self.old)} -> {_shown(self.new)}"
        return None


def differences(old: Any, new: Any, path: str = "") -> list[Difference]:
    """Where ``new`` differs from ``old``: model fields and dict keys one by one, anything else whole."""
    if old == new:
        return []
    if isinstance(old, BaseModel) and type(old) is type(new):
        return [
            d
            for name in type(new).model_fields
            for d in differences(getattr(old, name), getattr(new, name), _join(path, name))
        ]
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(old.keys() | new.keys(), key=str)
        return [d for key in keys for d in differences(old.get(key), new.get(key), _join(path, str(key)))]
    return [Difference(path or "value", old, new)]


def paths_and_details(
    found: list[Difference], secrets: Collection[str] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The places that differ, and the descriptions of those that can be shown (``secrets``: places never shown)."""
    details = (difference.describe(secrets) for difference in found)
    return tuple(d.path for d in found), tuple(detail for detail in details if detail)


_SHOWN_LENGTH = 60


def _plain(value: Any) -> bool:
    if isinstance(value, tuple | list):
        return len(value) <= 10 and all(_plain(item) for item in value)
    return value is None or isinstance(value, str | int | float | bool)


def _shown(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    if value is None:
        return "(none)"
    text = repr(str(value)) if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 3] + "..."


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
