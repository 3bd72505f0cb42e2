"""Tryton's typed JSON values and its error replies, as the JSON-RPC client sees them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from erpsync.connectors.tryton.rpc import decode, encode, tryton_error
from erpsync.errors import AuthError, ConflictError, ConnectorError, ValidationError


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 2, 29, 23, 59, 58, 123456),
        dt.date(2024, 2, 29),
        Decimal("12.50"),
        {"nested": [dt.date(2020, 1, 1), 1, "x", None]},
    ],
)
def test_typed_values_survive_a_round_trip(value: object) -> None:
    assert decode(encode(value)) == value


def test_datetime_travels_as_tryton_class() -> None:
    encoded = encode(dt.datetime(2024, 1, 2, 3, 4, 5, 6))
    assert encoded["__class__"] == "datetime"
    assert encoded["microsecond"] == 6


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (["UserError", ["The name is required.", "", None]], ValidationError),
        (["ConcurrencyException", "Records were modified in the meanwhile"], ConflictError),
        (["AccessError", ["You are not allowed to write."]], AuthError),
        ("Traceback (most recent call last): ...", ConnectorError),
    ],
)
def test_tryton_errors_map_to_typed_errors(error: object, expected: type[Exception]) -> None:
    mapped = tryton_error(error, "model.party.party.write")
    assert type(mapped) is expected
    assert "model.party.party.write" in mapped.tech_message
