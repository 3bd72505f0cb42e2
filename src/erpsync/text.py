"""Rules for text the hub accepts from outside: U+0000 nowhere, and no control characters in names and URLs.

PostgreSQL cannot store U+0000 in text at all and SQLite stores it but most tools cut the value there, so a NUL is
refused at the door (``erpsync.http.request_checks``) and again by the service layer's validators.

Public names: ``NUL``, ``NUL_REFUSED``, ``contains_nul``, ``has_control``, ``refuse_nul``, ``refuse_control``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from erpsync.errors import ValidationError

NUL = "\x00"
NUL_REFUSED = "must not contain the NUL character (U+0000)"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0 controls (CR, LF and TAB included), DEL and the C1 controls."""


def contains_nul(value: object) -> bool:
    """Whether a string, or any key or string inside a JSON-like structure, holds U+0000."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, Mapping):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def refuse_nul(value: str, what: str) -> str:
    if NUL in value:
        raise ValidationError(f"{what} {NUL_REFUSED}")
    return value


def refuse_control(value: str, what: str) -> str:
    """``value`` unchanged; ``ValidationError`` if it holds a control character (a name or URL never needs one)."""
    if has_control(value):
        raise ValidationError(f"{what} must not contain control characters (such as CR, LF, TAB or NUL)")
    return value
