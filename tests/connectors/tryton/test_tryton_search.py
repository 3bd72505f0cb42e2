"""Every search operator of SPEC §6.4 on the Tryton connector, against records seeded once for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.errors import ValidationError
from erpsync.protocol import models as m
from erpsync.testing.tryton import TrytonServer

from .conftest import CONNECTION, saved_connector

pytestmark = pytest.mark.tryton
T = m.ActorType
CUSTOMERS = {
    "Alpha Trading": {"city": "Oslo", "country": "NO"},
    "beta Works": {"city": "Bergen", "country": "NO"},
    "Gamma_100%": {"country": "DK"},
}
PROJECTS = {"P1": 0.2, "P2": 0.5, "P3": None}


@pytest.fixture(scope="module")
def seeded(shared_tryton: TrytonServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonConnector]:
    with saved_connector(shared_tryton, Path(tmp_path_factory.mktemp("store")) / "connections.sqlite") as connector:
        for index, (name, values) in enumerate([*CUSTOMERS.items()]):
            actor = m.Actor(actor_type=T.CUSTOMER, fields={"name": name, **values})
            request = m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key=f"c{index}")
            connector.create_actor(request)
        for name, progress in PROJECTS.items():
            actor = m.Actor(actor_type=T.PROJECT, fields={"name": name, "status": "1", "progress": progress})
            connector.create_actor(m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key=name))
        yield connector


def names(connector: TrytonConnector, actor_type: T, field: str, operator: str, values: list[m.Value]) -> set[str]:
    restriction = m.Restriction(field=field, operator=m.Operator(operator), values=values)
    request = m.SearchAdvancedRequest(
        connection_id=CONNECTION, actor_type=actor_type, restrictions=[restriction], field_keys=["name"]
    )
    return {str(actor.fields["name"]) for actor in connector.search_advanced(request).actors}


@pytest.mark.parametrize(
    ("field", "operator", "values", "expected"),
    [
        ("name", "=", ["ALPHA trading"], {"Alpha Trading"}),
        ("name", "begins", ["BETA"], {"beta Works"}),
        ("name", "contains", ["TRAD"], {"Alpha Trading"}),
        ("name", "ends", ["works"], {"beta Works"}),
        ("name", "notbegins", ["alpha"], {"beta Works", "Gamma_100%"}),
        ("name", "notcontains", ["ING"], {"beta Works", "Gamma_100%"}),
        ("name", "notends", ["WORKS"], {"Alpha Trading", "Gamma_100%"}),
        ("name", "isnot", ["beta works"], {"Alpha Trading", "Gamma_100%"}),
        ("name", "between", ["A", "C"], {"Alpha Trading", "beta Works"}),  # ignoring case, like every text operator
        ("name", "contains", ["_100%"], {"Gamma_100%"}),
        ("name", "contains", ["a_1"], {"Gamma_100%"}),
        ("name", "contains", ["%"], {"Gamma_100%"}),
        ("city", "isnot", ["oslo"], {"beta Works", "Gamma_100%"}),
        ("country", "oneof", ["NO"], {"Alpha Trading", "beta Works"}),
        ("country", "notoneof", ["NO"], {"Gamma_100%"}),
    ],
)
def test_customer_search_operators(
    seeded: TrytonConnector, field: str, operator: str, values: list[m.Value], expected: set[str]
) -> None:
    assert names(seeded, T.CUSTOMER, field, operator, values) == expected


@pytest.mark.parametrize(
    ("operator", "values", "expected"),
    [
        ("=", [0.2], {"P1"}),
        ("!=", [0.2], {"P2"}),
        (">", [0.2], {"P2"}),
        ("<", [0.5], {"P1"}),
        (">=", [0.2], {"P1", "P2"}),
        ("<=", [0.2], {"P1"}),
        ("between", [0.1, 0.3], {"P1"}),
    ],
)
def test_project_number_operators(
    seeded: TrytonConnector, operator: str, values: list[m.Value], expected: set[str]
) -> None:
    assert names(seeded, T.PROJECT, "progress", operator, values) == expected


def test_simple_search_ignores_case(seeded: TrytonConnector) -> None:
    request = m.SearchActorsRequest(connection_id=CONNECTION, actor_type=T.CUSTOMER, text="ALPHA", field_keys=["city"])
    assert [actor.fields for actor in seeded.search_actors(request).actors] == [{"city": "Oslo"}]


@pytest.mark.parametrize(
    ("field", "operator", "values"),
    [
        ("name", "oneof", ["x"]),
        ("progress", "contains", ["x"]),
        ("name", "between", ["a"]),
        ("nope", "=", ["x"]),
        ("start_date", "=", ["2024-01-01"]),
    ],
)
def test_bad_restrictions_are_validation_errors(
    seeded: TrytonConnector, field: str, operator: str, values: list[m.Value]
) -> None:
    actor_type = T.PROJECT if field in ("progress", "start_date") else T.CUSTOMER
    with pytest.raises(ValidationError):
        names(seeded, actor_type, field, operator, values)
