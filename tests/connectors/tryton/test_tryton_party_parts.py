"""All of a party: its invoice and delivery addresses, every contact mechanism by type, its identifiers, categories
and language, read from and written to a real Tryton onto the right record."""

from __future__ import annotations

from typing import Any

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.connectors.tryton.fields import COMPANY_FIELDS
from erpsync.protocol import models as m
from erpsync.testing.tryton import TrytonServer

from .conftest import CONNECTION

pytestmark = pytest.mark.tryton
T = m.ActorType
ALL_FIELDS = [field.key for field in COMPANY_FIELDS]


@pytest.fixture
def party(tryton: TrytonServer) -> int:
    """A customer as Tryton's users keep one: two addresses with their roles, two e-mails, a phone of each kind, a VAT
    number and a company registration number, a category of its own and a language."""
    with tryton.rpc() as rpc:
        (customer,) = rpc.search("party.category", [["name", "=", "Customer"]])
        (retail,) = rpc.create("party.category", [{"name": "Retail"}])
        denmark, norway = (rpc.search("country.country", [["code", "=", code]])[0] for code in ("DK", "NO"))
        (german,) = rpc.search("ir.lang", [["code", "=", "de"]])
        addresses = [
            {"street": "Depot Road 1", "postal_code": "0150", "city": "Oslo", "country": norway, "delivery": True},
            {"street": "Invoice Street 2", "postal_code": "8000", "city": "Aarhus", "country": denmark}
            | {"invoice": True},
        ]
        mechanisms = [
            {"type": "email", "value": "first@example.com", "sequence": 1},
            {"type": "email", "value": "second@example.com", "sequence": 2},
            {"type": "phone", "value": "+45 70 10 20 30"},
            {"type": "mobile", "value": "+45 20 30 40 50"},
            {"type": "website", "value": "https://shop.example.com"},
        ]
        identifiers = [{"type": "eu_vat", "code": "DK13585628"}, {"type": "no_orgnr", "code": "988077917"}]
        (created,) = rpc.create(
            "party.party",
            [
                {
                    "name": "Shop",
                    "lang": german,
                    "categories": [["add", [customer, retail]]],
                    "addresses": [["create", addresses]],
                    "contact_mechanisms": [["create", mechanisms]],
                    "identifiers": [["create", identifiers]],
                }
            ],
        )
    return int(created)


def read(connector: TrytonConnector, key: int) -> m.Actor:
    request = m.GetActorsRequest(
        connection_id=CONNECTION, actor_type=T.CUSTOMER, erp_keys=[str(key)], field_keys=ALL_FIELDS
    )
    (actor,) = connector.get_actors(request).actors
    return actor


def save(connector: TrytonConnector, actor: m.Actor, fields: dict[str, Any]) -> m.Actor:
    changed = actor.model_copy(update={"fields": fields})
    response = connector.save_actors(m.SaveActorsRequest(connection_id=CONNECTION, actors=[changed]))
    assert response.errors == []
    (saved,) = response.actors
    return saved


def mechanisms(tryton: TrytonServer, key: int) -> list[tuple[str, str]]:
    with tryton.rpc() as rpc:
        rows = rpc.search_read("party.contact_mechanism", [["party", "=", key]], ["type", "value"])
    return sorted((row["type"], row["value"]) for row in rows)


def addresses(tryton: TrytonServer, key: int) -> list[tuple[str, bool, bool]]:
    with tryton.rpc() as rpc:
        rows = rpc.search_read("party.address", [["party", "=", key]], ["street", "invoice", "delivery"])
    return sorted((row["street"], row["invoice"], row["delivery"]) for row in rows)


def test_every_part_of_a_party_is_read_by_its_role_and_type(connector: TrytonConnector, party: int) -> None:
    fields = read(connector, party).fields
    category = fields.pop("category")
    assert fields == {
        "name": "Shop",
        "code": fields["code"],
        "tax_identifier": "DK13585628",
        "registration_number": "988 077 917",  # as Tryton formats it
        "street": "Invoice Street 2",
        "postal_code": "8000",
        "city": "Aarhus",
        "country": "DK",
        "delivery_street": "Depot Road 1",
        "delivery_postal_code": "0150",
        "delivery_city": "Oslo",
        "delivery_country": "NO",
        "email": "first@example.com",
        "phone": "+45 70 10 20 30",
        "mobile": "+45 20 30 40 50",
        "fax": None,
        "website": "https://shop.example.com",
        "language": "de",
    }
    items = connector.list_items(m.ListItemsRequest(connection_id=CONNECTION, list_name="categories")).items
    assert {item.key: item.label for item in items}[str(category)] == "Retail"


def test_a_contact_field_writes_the_mechanism_it_was_read_from_and_leaves_the_others(
    tryton: TrytonServer, connector: TrytonConnector, party: int
) -> None:
    actor = read(connector, party)
    saved = save(connector, actor, {"email": "new@example.com", "fax": "+45 70 10 20 31", "mobile": None})
    assert (saved.fields["email"], saved.fields["fax"], saved.fields["mobile"]) == (
        "new@example.com",
        "+45 70 10 20 31",
        None,
    )
    assert mechanisms(tryton, party) == [
        ("email", "new@example.com"),
        ("email", "second@example.com"),
        ("fax", "+45 70 10 20 31"),
        ("phone", "+45 70 10 20 30"),
        ("website", "https://shop.example.com"),
    ]


def test_address_fields_write_the_address_of_their_role(
    tryton: TrytonServer, connector: TrytonConnector, party: int
) -> None:
    actor = read(connector, party)
    saved = save(connector, actor, {"city": "Aarhus C", "delivery_street": "Depot Road 9", "delivery_country": "SE"})
    fields = saved.fields
    assert (fields["city"], fields["street"], fields["delivery_street"], fields["delivery_country"]) == (
        "Aarhus C",
        "Invoice Street 2",
        "Depot Road 9",
        "SE",
    )
    assert addresses(tryton, party) == [("Depot Road 9", False, True), ("Invoice Street 2", True, False)]


def test_a_delivery_address_is_split_off_an_address_that_serves_both_roles(
    tryton: TrytonServer, connector: TrytonConnector
) -> None:
    with tryton.rpc() as rpc:
        (customer,) = rpc.search("party.category", [["name", "=", "Customer"]])
        both = {"street": "Main Street 1", "city": "Aarhus", "invoice": True, "delivery": True}
        (key,) = rpc.create(
            "party.party",
            [{"name": "One address", "categories": [["add", [customer]]], "addresses": [["create", [both]]]}],
        )
    actor = read(connector, key)
    assert (actor.fields["street"], actor.fields["delivery_street"]) == ("Main Street 1", "Main Street 1")
    saved = save(connector, actor, {"delivery_street": "Back Yard 2"})
    assert (saved.fields["street"], saved.fields["delivery_street"]) == ("Main Street 1", "Back Yard 2")
    assert saved.fields["delivery_city"] == "Aarhus"  # the split-off address keeps what was not written
    assert addresses(tryton, key) == [("Back Yard 2", False, True), ("Main Street 1", True, False)]


def test_a_new_customer_gets_its_addresses_and_contacts_with_their_roles(
    tryton: TrytonServer, connector: TrytonConnector
) -> None:
    values: dict[str, Any] = {"name": "Newco", "street": "Post Box 3", "delivery_street": "Gate 4"}
    values |= {"email": "hello@newco.example", "fax": "+45 11 22 33 44"}
    actor = m.Actor(actor_type=T.CUSTOMER, fields=values)
    request = m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key="newco")
    created = connector.create_actor(request).actor
    assert created is not None
    key = int(created.erp_key or 0)
    assert {k: created.fields[k] for k in values} == values
    assert addresses(tryton, key) == [("Gate 4", False, True), ("Post Box 3", True, False)]


def test_a_structured_street_reads_as_tryton_shows_it(tryton: TrytonServer, connector: TrytonConnector) -> None:
    with tryton.rpc() as rpc:
        (customer,) = rpc.search("party.category", [["name", "=", "Customer"]])
        structured = {"street_name": "Vestergade", "building_number": "12", "city": "Aarhus"}
        (key,) = rpc.create(
            "party.party",
            [{"name": "Structured", "categories": [["add", [customer]]], "addresses": [["create", [structured]]]}],
        )
        (shown,) = rpc.search_read("party.address", [["party", "=", key]], ["street"])
    assert shown["street"]
    assert read(connector, key).fields["street"] == shown["street"]
