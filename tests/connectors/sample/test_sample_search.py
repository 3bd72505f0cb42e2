"""Every §6.4 search operator per field type, simple and by-parent search, and bad criteria, directly and over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from erpsync.errors import ValidationError
from erpsync.protocol.models import OPERATORS_BY_TYPE, FieldType, Operator


@pytest.fixture(scope="module")
def customers(shared_add: Any) -> dict[str, str]:
    """Three customers covering blanks, Nordic letters and each field type; name -> key."""
    rows = [
        {
            "name": "Ærø Fisk ApS",
            "email": "info@aero.dk",
            "employees": 10,
            "credit_limit": 1000.0,
            "customer_group": "RETAIL",
        },
        {
            "name": "Bergen Sjømat AS",
            "employees": 250,
            "credit_limit": 5000.0,
            "blocked": True,
            "customer_group": "WHOLESALE",
        },
        {"name": "Göta Bygg AB", "email": "order@gota.se"},
    ]
    return {row["name"]: shared_add("customer", **row) for row in rows}


@pytest.fixture(scope="module")
def projects(shared_add: Any) -> dict[str, str]:
    rows = [
        {"name": "Harbour", "end_date": "2025-01-31", "status": "ACTIVE"},
        {"name": "Warehouse", "end_date": "2025-06-30T12:00:00Z", "status": "DONE"},
        {"name": "Website"},
    ]
    return {row["name"]: shared_add("project", **row) for row in rows}


A, B, C = "Ærø Fisk ApS", "Bergen Sjømat AS", "Göta Bygg AB"
CUSTOMER_CASES = [
    ("name", "=", ["ærø fisk aps"], {A}),
    ("name", "begins", ["BERGEN"], {B}),
    ("name", "contains", ["BYG"], {C}),
    ("name", "ends", ["ab"], {C}),
    ("name", "notbegins", ["æRØ"], {B, C}),
    ("name", "notcontains", ["s"], {C}),
    ("name", "notends", ["APS"], {B, C}),
    ("name", "isnot", ["göta bygg ab"], {A, B}),
    ("name", "between", ["b", "c"], {B}),
    ("name", "contains", ["%"], set()),
    ("email", "notcontains", ["aero"], {B, C}),
    ("email", "=", [""], {B}),
    ("employees", "=", [10], {A}),
    ("employees", "!=", [10], {B, C}),
    ("employees", ">", [10], {B}),
    ("employees", "<", [250], {A}),
    ("employees", ">=", [10], {A, B}),
    ("employees", "<=", [10], {A}),
    ("employees", "between", [5, 100], {A}),
    ("credit_limit", "=", [1000], {A}),
    ("credit_limit", "!=", [1000.0], {B, C}),
    ("credit_limit", ">", [1000.5], {B}),
    ("credit_limit", "<", [5000], {A}),
    ("credit_limit", ">=", [1000], {A, B}),
    ("credit_limit", "<=", [4999.99], {A}),
    ("credit_limit", "between", [0, 10000.0], {A, B}),
    ("blocked", "=", [True], {B}),
    ("blocked", "=", [False], {A, C}),
    ("customer_group", "oneof", ["RETAIL", "WHOLESALE"], {A, B}),
    ("customer_group", "notoneof", ["RETAIL"], {B, C}),
]
PROJECT_CASES = [
    ("end_date", "=", ["2025-01-31"], {"Harbour"}),
    ("end_date", "before", ["2025-06-30T12:00:00Z"], {"Harbour"}),
    ("end_date", "after", ["2025-01-31T00:00:00+00:00"], {"Warehouse"}),
    ("end_date", "beforeOrEqual", ["2025-06-30T12:00:00Z"], {"Harbour", "Warehouse"}),
    ("end_date", "afterOrEqual", ["2025-06-30T14:00:00+02:00"], {"Warehouse"}),
    ("end_date", "between", ["2025-01-01", "2025-02-01"], {"Harbour"}),
    ("status", "oneof", ["DONE"], {"Warehouse"}),
]


def test_the_cases_cover_every_operator_of_every_searchable_type() -> None:
    covered = {(FieldType.TEXT, Operator(op)) for field, op, _, _ in CUSTOMER_CASES if field in ("name", "email")}
    covered |= {(FieldType.INTEGER, Operator(op)) for field, op, _, _ in CUSTOMER_CASES if field == "employees"}
    covered |= {(FieldType.DOUBLE, Operator(op)) for field, op, _, _ in CUSTOMER_CASES if field == "credit_limit"}
    covered |= {(FieldType.CHECKBOX, Operator(op)) for field, op, _, _ in CUSTOMER_CASES if field == "blocked"}
    covered |= {(FieldType.LIST, Operator(op)) for field, op, _, _ in CUSTOMER_CASES if field == "customer_group"}
    covered |= {(FieldType.DATETIME, Operator(op)) for field, op, _, _ in PROJECT_CASES if field == "end_date"}
    expected = {(field_type, op) for field_type, ops in OPERATORS_BY_TYPE.items() for op in ops}
    assert covered == expected


def _names(response: Any) -> set[str]:
    return {actor.fields["name"] for actor in response.actors}


@pytest.mark.parametrize(("field", "operator", "values", "expected"), CUSTOMER_CASES)
def test_search_advanced_on_customers(
    shared_call: Any, customers: dict[str, str], field: str, operator: str, values: list[Any], expected: set[str]
) -> None:
    restriction = {"field": field, "operator": operator, "values": values}
    response = shared_call("search_advanced", actor_type="customer", restrictions=[restriction], field_keys=["name"])
    assert _names(response) == expected


@pytest.mark.parametrize(("field", "operator", "values", "expected"), PROJECT_CASES)
def test_search_advanced_on_project_dates_and_lists(
    shared_call: Any, projects: dict[str, str], field: str, operator: str, values: list[Any], expected: set[str]
) -> None:
    restriction = {"field": field, "operator": operator, "values": values}
    response = shared_call("search_advanced", actor_type="project", restrictions=[restriction], field_keys=["name"])
    assert _names(response) == expected


def test_restrictions_combine_with_and_and_honour_the_limit(shared_call: Any, customers: dict[str, str]) -> None:
    both = [
        {"field": "credit_limit", "operator": ">=", "values": [0]},
        {"field": "blocked", "operator": "=", "values": [False]},
    ]
    assert _names(shared_call("search_advanced", actor_type="customer", restrictions=both, field_keys=["name"])) == {A}
    everything = shared_call("search_advanced", actor_type="customer", restrictions=[], field_keys=["name"], limit=2)
    assert len(everything.actors) == 2


@pytest.mark.parametrize(
    ("restriction", "named"),
    [
        ({"field": "colour", "operator": "=", "values": ["red"]}, "colour"),
        ({"field": "credit_limit", "operator": "begins", "values": ["1"]}, "credit_limit"),
        ({"field": "name", "operator": "oneof", "values": ["x"]}, "name"),
        ({"field": "blocked", "operator": ">", "values": [True]}, "blocked"),
        ({"field": "employees", "operator": "between", "values": [1]}, "employees"),
        ({"field": "employees", "operator": "=", "values": [1, 2]}, "employees"),
        ({"field": "employees", "operator": "=", "values": ["ten"]}, "employees"),
        ({"field": "employees", "operator": "=", "values": [True]}, "employees"),
        ({"field": "blocked", "operator": "=", "values": ["yes"]}, "blocked"),
        ({"field": "customer_group", "operator": "oneof", "values": []}, "customer_group"),
        ({"field": "customer_group", "operator": "oneof", "values": ["VIP"]}, "customer_group"),
        ({"field": "created", "operator": "after", "values": ["yesterday"]}, "created"),
        ({"field": "name", "operator": "=", "values": [None]}, "name"),
    ],
)
def test_bad_restrictions_are_refused_naming_the_field(
    shared_call: Any, customers: dict[str, str], restriction: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        shared_call("search_advanced", actor_type="customer", restrictions=[restriction], field_keys=["name"])


def test_simple_search_matches_name_number_and_email_ignoring_case(shared_call: Any, customers: dict[str, str]) -> None:
    def search(text: str) -> set[str]:
        return _names(shared_call("search_actors", actor_type="customer", text=text, field_keys=["name"]))

    assert search("ÆRØ") == {A}
    assert search("GOTA.SE") == {C}
    assert search(str(10000 + int(customers[B]))) == {B}
    assert search("") == {A, B, C}
    assert search("nothing like it") == set()


def test_simple_search_returns_only_the_asked_fields(shared_call: Any, customers: dict[str, str]) -> None:
    response = shared_call(
        "search_actors", actor_type="customer", text="bergen", field_keys=["credit_limit", "blocked"]
    )
    [actor] = response.actors
    assert actor.fields == {"credit_limit": 5000.0, "blocked": True}
    assert actor.erp_key == customers[B]
    assert actor.last_modified


def test_inactive_records_are_searched_only_when_the_connection_includes_them(call: Any, add: Any) -> None:
    add("customer", name="Lively AS")
    add("customer", name="Dormant Oy", active=False)
    assert _names(call("search_actors", actor_type="customer", text="", field_keys=["name"])) == {"Lively AS"}
    config = {"company": "ACME", "user": "erpsync", "password": "demo", "include_inactive": True}
    call("save_connection", connection_id="with-inactive", config=config)
    found = call("search_actors", connection_id="with-inactive", actor_type="customer", text="", field_keys=["name"])
    assert _names(found) == {"Lively AS", "Dormant Oy"}


def test_search_by_parent_finds_the_parents_persons(call: Any, add: Any) -> None:
    acme, other = add("customer", name="Acme"), add("customer", name="Other")
    add("person", parent=("customer", acme), first_name="Mette", last_name="Jensen")
    add("person", parent=("customer", acme), first_name="Lars", last_name="Holm")
    add("person", parent=("customer", other), first_name="Ingrid", last_name="Berg")

    def persons(text: str = "", parent_type: str = "customer") -> list[str]:
        response = call(
            "search_by_parent",
            actor_type="person",
            parent_type=parent_type,
            parent_key=acme,
            text=text,
            field_keys=["last_name"],
        )
        return [actor.fields["last_name"] for actor in response.actors]

    assert persons() == ["Holm", "Jensen"]
    assert persons("mette") == ["Jensen"]
    assert persons(parent_type="supplier") == []
    with pytest.raises(ValidationError, match="project"):
        persons(parent_type="project")


def test_companies_partition_the_search(call: Any, add: Any) -> None:
    add("customer", name="Ærø Fisk ApS")
    add("customer", company="OTHER", name="Ærø Elsewhere ApS")
    assert _names(call("search_actors", actor_type="customer", text="ærø", field_keys=["name"])) == {"Ærø Fisk ApS"}
