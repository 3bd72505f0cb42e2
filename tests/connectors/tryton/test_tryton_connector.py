"""The Tryton connector against a real trytond over JSON-RPC."""

from __future__ import annotations

import uuid

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.errors import AuthError, ErrorCode, ValidationError
from erpsync.protocol import models as m
from erpsync.testing.tryton import TrytonServer

from .conftest import CONNECTION

pytestmark = pytest.mark.tryton
T = m.ActorType


def create(
    connector: TrytonConnector, actor_type: T, fields: dict[str, m.Value], *, parent: m.Actor | None = None
) -> m.Actor:
    actor = m.Actor(
        actor_type=actor_type,
        parent_type=parent.actor_type if parent else None,
        parent_key=parent.erp_key if parent else None,
        fields=fields,
    )
    request = m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key=uuid.uuid4().hex)
    created = connector.create_actor(request).actor
    assert created is not None
    return created


def get(connector: TrytonConnector, actor_type: T, keys: list[str], fields: list[str]) -> m.GetActorsResponse:
    request = m.GetActorsRequest(connection_id=CONNECTION, actor_type=actor_type, erp_keys=keys, field_keys=fields)
    return connector.get_actors(request)


def test_config_with_good_values_connects(tryton: TrytonServer) -> None:
    envelope = TrytonConnector().test_config(m.TestConfigRequest(config=tryton.config()))
    assert envelope.ok


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"url": "http://127.0.0.1:1"}, ValidationError, "server URL"),
        ({"database": "no_such_db"}, ValidationError, "no database named 'no_such_db'"),
        ({"password": "wrong"}, AuthError, "user name or password"),
        ({"company": 999}, ValidationError, "company 999"),
    ],
)
def test_config_reports_each_bad_value(
    tryton: TrytonServer, change: dict[str, m.Value], error: type[Exception], message: str
) -> None:
    config = {**tryton.config(), **change}
    with pytest.raises(error, match=message):
        TrytonConnector().test_config(m.TestConfigRequest(config=config))


def test_config_refuses_a_url_that_is_not_tryton(tryton: TrytonServer) -> None:
    config = {**tryton.config(), "url": tryton.url + "/not-tryton"}
    with pytest.raises(ValidationError, match="does not answer as a Tryton server"):
        TrytonConnector().test_config(m.TestConfigRequest(config=config))


def test_actor_types_and_fields(connector: TrytonConnector) -> None:
    types = connector.actor_types(m.ConnectionRequest(connection_id=CONNECTION)).actor_types
    assert set(types) == set(T)
    fields = connector.actor_fields(m.ActorTypeRequest(connection_id=CONNECTION, actor_type=T.CUSTOMER)).fields
    by_key = {field.key: field for field in fields}
    assert by_key["name"].access == m.Access.MANDATORY
    assert by_key["code"].access == m.Access.READ_ONLY
    assert (by_key["country"].type, by_key["country"].list_name) == (m.FieldType.LIST, "countries")


def test_create_customer_with_every_field_reads_back(connector: TrytonConnector) -> None:
    values: dict[str, m.Value] = {
        "name": "Acme A/S",
        "tax_identifier": "DK13585628",
        "street": "Main Street 1",
        "postal_code": "2100",
        "city": "Copenhagen",
        "country": "DK",
        "email": "info@acme.example",
        "phone": "+4512345678",
        "website": "https://acme.example",
        "language": "en",
    }
    created = create(connector, T.CUSTOMER, values)
    assert created.erp_key
    assert created.last_modified
    read = get(connector, T.CUSTOMER, [created.erp_key], [*values, "code"]).actors[0]
    assert {key: read.fields[key] for key in values} == values
    assert read.fields["code"]


def test_types_are_kept_apart_and_partner_is_both(connector: TrytonConnector) -> None:
    customer = create(connector, T.CUSTOMER, {"name": "Only customer"})
    supplier = create(connector, T.SUPPLIER, {"name": "Only supplier"})
    partner = create(connector, T.PARTNER, {"name": "Both"})
    keys = [customer.erp_key, supplier.erp_key, partner.erp_key]
    found = {t: {a.erp_key for a in get(connector, t, [k for k in keys if k], ["name"]).actors} for t in T}
    assert found[T.CUSTOMER] == {customer.erp_key, partner.erp_key}
    assert found[T.SUPPLIER] == {supplier.erp_key, partner.erp_key}
    assert found[T.PARTNER] == {partner.erp_key}
    assert found[T.PERSON] == set()


def test_person_and_project_have_their_company_as_parent(connector: TrytonConnector) -> None:
    company = create(connector, T.CUSTOMER, {"name": "Parent Co"})
    person = create(connector, T.PERSON, {"name": "Pia Person", "email": "pia@example.com"}, parent=company)
    project = create(
        connector,
        T.PROJECT,
        {"name": "Rollout", "status": "1", "start_date": "2024-01-02", "end_date": "2024-03-04", "comment": "Hi"},
        parent=company,
    )
    assert (person.parent_type, person.parent_key) == (T.CUSTOMER, company.erp_key)
    assert (project.parent_type, project.parent_key) == (T.CUSTOMER, company.erp_key)
    assert project.fields["start_date"] == "2024-01-02"
    assert project.fields["end_date"] == "2024-03-04"
    assert project.fields["number"]
    request = m.SearchByParentRequest(
        connection_id=CONNECTION,
        actor_type=T.PERSON,
        parent_type=T.CUSTOMER,
        parent_key=company.erp_key or "",
        field_keys=["name"],
    )
    assert [a.erp_key for a in connector.search_by_parent(request).actors] == [person.erp_key]


def test_a_person_s_new_parent_replaces_its_relation_and_its_parent_cannot_be_cleared(
    connector: TrytonConnector, tryton: TrytonServer
) -> None:
    old, new = create(connector, T.CUSTOMER, {"name": "Old Co"}), create(connector, T.CUSTOMER, {"name": "New Co"})
    person = create(connector, T.PERSON, {"name": "Mia Mover"}, parent=old)
    moved = person.model_copy(update={"fields": {}, "parent_type": T.CUSTOMER, "parent_key": new.erp_key})
    cleared = person.model_copy(update={"fields": {}, "parent_type": None, "parent_key": None})

    saved = connector.save_actors(m.SaveActorsRequest(connection_id=CONNECTION, actors=[moved]))

    assert [(a.parent_type, a.parent_key) for a in saved.actors] == [(T.CUSTOMER, new.erp_key)]
    with tryton.rpc() as rpc:  # one relation left, to the new parent, and its reverse with it
        relations = rpc.search_read("party.relation.all", [["from_", "=", int(person.erp_key or 0)]], ["to"])
        reverse = rpc.search_read("party.relation.all", [["to", "=", int(person.erp_key or 0)]], ["from_"])
    assert [row["to"] for row in relations] == [int(new.erp_key or 0)]
    assert [row["from_"] for row in reverse] == [int(new.erp_key or 0)]
    cleared = cleared.model_copy(update={"last_modified": saved.actors[0].last_modified})
    refused = connector.save_actors(m.SaveActorsRequest(connection_id=CONNECTION, actors=[cleared]))
    assert [(e.error_code, e.message) for e in refused.errors] == [
        (ErrorCode.VALIDATION, "a person in Tryton works for a company or partner: its parent cannot be cleared")
    ]
    found = get(connector, T.PERSON, [person.erp_key or ""], ["name"]).actors[0]
    assert (found.parent_type, found.parent_key) == (T.CUSTOMER, new.erp_key)


def test_get_actors_returns_only_asked_fields_and_reports_missing(connector: TrytonConnector) -> None:
    created = create(connector, T.SUPPLIER, {"name": "Parts Ltd", "city": "Oslo"})
    answer = get(connector, T.SUPPLIER, [created.erp_key or "", "999999", "not-a-key"], ["city"])
    assert [a.fields for a in answer.actors] == [{"city": "Oslo"}]
    assert answer.not_found == ["999999", "not-a-key"]


def test_create_is_idempotent_by_key(connector: TrytonConnector) -> None:
    actor = m.Actor(actor_type=T.CUSTOMER, fields={"name": "Once Only"})
    request = m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key="retry-me")
    first, second = connector.create_actor(request).actor, connector.create_actor(request).actor
    assert first is not None
    assert second is not None
    assert first.erp_key == second.erp_key
    search = m.SearchActorsRequest(connection_id=CONNECTION, actor_type=T.CUSTOMER, text="once only", field_keys=[])
    assert len(connector.search_actors(search).actors) == 1


def test_project_create_is_idempotent_by_key(connector: TrytonConnector) -> None:
    actor = m.Actor(actor_type=T.PROJECT, fields={"name": "Once", "status": "1"})
    request = m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key="project-retry")
    first, second = connector.create_actor(request).actor, connector.create_actor(request).actor
    assert first is not None
    assert second is not None
    assert first.erp_key == second.erp_key


def test_save_actors_reports_errors_per_actor(connector: TrytonConnector) -> None:
    good = create(connector, T.CUSTOMER, {"name": "Good", "email": "old@example.com"})
    bad_vat = create(connector, T.CUSTOMER, {"name": "Bad VAT"})
    actors = [
        good.model_copy(update={"fields": {"name": "Good 2", "email": "new@example.com", "city": "Aarhus"}}),
        bad_vat.model_copy(update={"fields": {"tax_identifier": "DK12345"}}),
        m.Actor(actor_type=T.CUSTOMER, erp_key="999999", fields={"name": "Ghost"}),
        good.model_copy(update={"fields": {"code": "read-only"}}),
    ]
    answer = connector.save_actors(m.SaveActorsRequest(connection_id=CONNECTION, actors=actors))
    assert [(e.index, e.error_code) for e in answer.errors] == [
        (1, ErrorCode.VALIDATION),
        (2, ErrorCode.NOT_FOUND),
        (3, ErrorCode.VALIDATION),
    ]
    assert [a.fields["email"] for a in answer.actors] == ["new@example.com"]
    read = get(connector, T.CUSTOMER, [good.erp_key or ""], ["name", "city"]).actors[0]
    assert read.fields == {"name": "Good 2", "city": "Aarhus"}


def test_concurrent_edit_in_tryton_is_a_conflict_not_overwritten(
    connector: TrytonConnector, tryton: TrytonServer
) -> None:
    created = create(connector, T.CUSTOMER, {"name": "Original", "email": "a@example.com"})
    with tryton.rpc() as rpc:  # someone edits the e-mail in Tryton after the hub read the actor
        (mechanism,) = rpc.search("party.contact_mechanism", [["party", "=", int(created.erp_key or 0)]])
        rpc.write("party.contact_mechanism", [mechanism], {"value": "changed@example.com"})
    stale = created.model_copy(update={"fields": {"email": "hub@example.com"}})
    answer = connector.save_actors(m.SaveActorsRequest(connection_id=CONNECTION, actors=[stale]))
    assert [e.error_code for e in answer.errors] == [ErrorCode.CONFLICT]
    read = get(connector, T.CUSTOMER, [created.erp_key or ""], ["email"]).actors[0]
    assert read.fields["email"] == "changed@example.com"


def test_list_items(connector: TrytonConnector, tryton: TrytonServer) -> None:
    with tryton.rpc() as rpc:
        (category,) = rpc.create("party.category", [{"name": "VIP"}])

    def items(name: str) -> dict[str, str]:
        request = m.ListItemsRequest(connection_id=CONNECTION, list_name=name)
        return {item.key: item.label for item in connector.list_items(request).items}

    assert items("countries")["DK"] == "Denmark"
    assert items("categories") == {str(category): "VIP"}
    assert items("languages")["en"] == "English"
    assert set(items("project_statuses").values()) == {"Open", "Done"}
    only = m.ListItemsRequest(connection_id=CONNECTION, list_name="countries", keys=["NO"])
    assert [item.key for item in connector.list_items(only).items] == ["NO"]
    with pytest.raises(ValidationError):
        items("nope")


def test_tax_identifier_outside_the_eu_is_kept_and_an_eu_vat_is_validated(connector: TrytonConnector) -> None:
    norwegian = create(connector, T.CUSTOMER, {"name": "Fjord AS", "tax_identifier": "NO 912345678 MVA"})
    assert get(connector, T.CUSTOMER, [norwegian.erp_key or ""], ["tax_identifier"]).actors[0].fields == {
        "tax_identifier": "NO 912345678 MVA"
    }
    actor = m.Actor(actor_type=T.CUSTOMER, fields={"name": "Bad VAT ApS", "tax_identifier": "DK12345"})
    request = m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key="bad-vat")
    with pytest.raises(ValidationError, match="DK12345"):
        connector.create_actor(request)
    changed = norwegian.model_copy(update={"fields": {"tax_identifier": "DK13585628"}, "last_modified": None})
    saved = connector.save_actors(m.SaveActorsRequest(connection_id=CONNECTION, actors=[changed]))
    assert [a.fields["tax_identifier"] for a in saved.actors] == ["DK13585628"]
