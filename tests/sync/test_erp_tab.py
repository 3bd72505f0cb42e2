"""The ERP tab's search restrictions (SPEC §6.4): every bad restriction is named, good ones become protocol models."""

from __future__ import annotations

import pytest

from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.protocol import models as m
from erpsync.sync.erp_tab import RefusedRequestError, RestrictionInput, check_restrictions

FIELDS = [field.meta(rank) for rank, field in enumerate(ORGANISATION.fields, start=1)]
SEARCHABLE = [meta.key for meta in FIELDS if m.OPERATORS_BY_TYPE[meta.type]]


def test_good_restrictions_become_protocol_restrictions() -> None:
    given = [
        RestrictionInput("name", "contains", ["acme"]),
        RestrictionInput("employees", "between", [10, 50]),
        RestrictionInput("country", "notoneof", ["DK", "SE"]),
        RestrictionInput("created", "afterOrEqual", ["2024-01-01"]),
        RestrictionInput("blocked", "=", [False]),
    ]
    checked = check_restrictions(given, FIELDS, SEARCHABLE)
    assert [(r.field, r.operator, r.values) for r in checked] == [
        ("name", m.Operator.CONTAINS, ["acme"]),
        ("employees", m.Operator.BETWEEN, [10, 50]),
        ("country", m.Operator.NOT_ONE_OF, ["DK", "SE"]),
        ("created", m.Operator.AFTER_OR_EQUAL, ["2024-01-01"]),
        ("blocked", m.Operator.EQ, [False]),
    ]


def test_every_bad_restriction_is_named_with_its_position_and_member() -> None:
    given = [
        RestrictionInput("name", "=", ["ok"]),
        RestrictionInput("name", ">", ["b"]),
        RestrictionInput("credit_limit", "contains", ["1"]),
        RestrictionInput("country", "oneof", []),
        RestrictionInput("name", "between", ["a"]),
        RestrictionInput("email", "begins", ["a", "b"]),
        RestrictionInput("nosuch", "=", ["x"]),
        RestrictionInput("name", "resembles", ["x"]),
    ]
    with pytest.raises(RefusedRequestError) as refused:
        check_restrictions(given, FIELDS, SEARCHABLE)
    assert [loc for loc, _ in refused.value.problems] == [
        ("restrictions", 1, "operator"),
        ("restrictions", 2, "operator"),
        ("restrictions", 3, "values"),
        ("restrictions", 4, "values"),
        ("restrictions", 5, "values"),
        ("restrictions", 6, "field"),
        ("restrictions", 7, "operator"),
    ]
    assert "'>' does not apply to text field 'name'" in refused.value.user_message


def test_a_field_the_connector_does_not_search_is_refused() -> None:
    with pytest.raises(RefusedRequestError) as refused:
        check_restrictions([RestrictionInput("email", "=", ["a"])], FIELDS, ["name"])
    assert refused.value.problems == ((("restrictions", 0, "field"), "'email' is not a searchable field"),)
