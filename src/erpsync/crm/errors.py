"""Errors of the CRM service layer.

Public names: ``InvalidFieldError`` (a ``ValidationError`` naming the offending field).
"""

from __future__ import annotations

from erpsync.errors import ValidationError


class InvalidFieldError(ValidationError):
    """A value the CRM refuses; ``field`` is the attribute (API) name and ``key`` the mapping key, when there is one."""

    def __init__(self, field: str, message: str, *, key: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.key = key
        self.reason = message
