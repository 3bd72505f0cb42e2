"""Dates between the protocol (ISO 8601 text) and Tryton (``datetime.date``), and a project's timesheet dates.

Public names: ``timesheet_dates(fields)``, ``date_text(value)``, ``date_value(value, key)``.
"""

from __future__ import annotations

import datetime as dt

from erpsync.connectors.tryton.domains import parse_datetime
from erpsync.errors import ValidationError
from erpsync.protocol.models import Value


def timesheet_dates(fields: dict[str, Value]) -> dict[str, dt.date | None]:
    """A project's start and end dates, which Tryton keeps on its timesheet work."""
    return {f"timesheet_{key}": date_value(fields[key], key) for key in ("start_date", "end_date") if key in fields}


def date_text(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def date_value(value: Value, key: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        parsed = parse_datetime(str(value))
    except ValueError as error:
        raise ValidationError(f"{key} {value!r} is not an ISO 8601 date") from error
    return parsed.date() if isinstance(parsed, dt.datetime) else parsed
