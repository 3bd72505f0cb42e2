"""The sample connector's operations (config, metadata, reads, creates, saves, lists), directly and over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from erpsync.connectors.sample.erp import SampleErp
from erpsync.errors import AuthError, UnknownConnectionError, ValidationError
from erpsync.protocol import models as m

GOOD = {"company": "ACME", "user": "erpsync", "password": "demo"}


def test_info_declares_creates_for_every_actor_type(shared_call: Any) -> None:
    info = shared_call("info")
    assert info.name == "sample"
    assert info.capabilities.create == dict.fromkeys(m.ActorType, True)


def test_config_fields_cover_every_field_type(shared_call: Any) -> None:
    fields = shared_call("config_fields").fields
    assert {field.type for field in fields} == set(m.FieldType)
    by_key = {field.key: field for field in fields}
    assert by_key["company"].list_name == "erp_company"
    assert by_key["page_size"].default == 200
    assert [f.key for f in fields if f.access is m.Access.MANDATORY] == ["company", "user", "password"]


def test_good_config_passes(shared_call: Any) -> None:
    assert shared_call("test_config", config={**GOOD, "page_size": 50, "sync_from": "2024-01-01"}).ok


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({**GOOD, "password": "wrong"}, AuthError, "user name or password"),
        ({**GOOD, "user": "nobody"}, AuthError, "user name or password"),
        ({**GOOD, "company": "NOPE"}, ValidationError, "NOPE"),
        ({**GOOD, "user": ""}, ValidationError, "user is mandatory"),
        ({"company": "ACME", "user": "erpsync"}, ValidationError, "password is mandatory"),
        ({**GOOD, "page_size": 0}, ValidationError, "page_size"),
        ({**GOOD, "page_size": "ten"}, ValidationError, "page_size"),
        ({**GOOD, "include_inactive": "yes"}, ValidationError, "include_inactive"),
        ({**GOOD, "sync_from": "last tuesday"}, ValidationError, "sync_from"),
        ({**GOOD, "default_credit_limit": -1}, ValidationError, "default_credit_limit"),
        ({**GOOD, "colour": "red"}, ValidationError, "colour"),
    ],
)
def test_bad_config_is_refused_with_a_clear_reason(
    shared_call: Any, config: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        shared_call("test_config", config=config)


def test_a_saved_connection_fails_once_the_erp_password_changes(call: Any, erp: SampleErp) -> None:
    assert call("test_connection").ok
    erp.set_password("erpsync", "changed")
    with pytest.raises(AuthError):
        call("test_connection")
    with pytest.raises(AuthError):
        call("actor_types")


def test_a_refused_config_is_not_saved(call: Any) -> None:
    with pytest.raises(AuthError):
        call("save_connection", connection_id="new", config={**GOOD, "password": "wrong"})
    with pytest.raises(UnknownConnectionError):
        call("test_connection", connection_id="new")


def test_unknown_and_deleted_connections_answer_unknown_connection(call: Any) -> None:
    with pytest.raises(UnknownConnectionError):
        call("actor_types", connection_id="never-saved")
    call("delete_connection")
    with pytest.raises(UnknownConnectionError):
        call("get_actors", actor_type="customer", erp_keys=["1"], field_keys=["name"])


def test_actor_metadata(shared_call: Any) -> None:
    assert shared_call("actor_types").actor_types == list(m.ActorType)
    fields = shared_call("actor_fields", actor_type="customer").fields
    by_key = {field.key: field for field in fields}
    assert by_key["name"].access is m.Access.MANDATORY
    assert by_key["name"].max_length == 100
    assert by_key["number"].access is m.Access.READ_ONLY
    assert by_key["created"].access is m.Access.READ_ONLY
    assert by_key["created"].type is m.FieldType.DATETIME
    assert by_key["currency"].list_name == "currency"
    assert [field.rank for field in fields] == list(range(1, len(fields) + 1))
    person = {field.key for field in shared_call("actor_fields", actor_type="person").fields}
    assert {"first_name", "last_name", "title", "email", "phone_mobile"} <= person
    searchable = shared_call("searchable_fields", actor_type="project").field_keys
    assert {"name", "end_date", "status"} <= set(searchable)


def test_every_list_field_has_its_list(shared_call: Any) -> None:
    for actor_type in m.ActorType:
        for field in shared_call("actor_fields", actor_type=actor_type).fields:
            if field.type is m.FieldType.LIST:
                assert shared_call("list_items", list_name=field.list_name).items, field.key


def test_list_items(shared_call: Any) -> None:
    companies = shared_call("list_items", connection_id="not-yet-saved", list_name="erp_company").items
    assert [(item.key, item.label) for item in companies] == [("ACME", "Acme Nordic A/S"), ("OTHER", "Other Handel AB")]
    picked = shared_call("list_items", list_name="currency", keys=["SEK", "DKK", "XXX"]).items
    assert [item.key for item in picked] == ["DKK", "SEK"]
    with pytest.raises(ValidationError, match="colours"):
        shared_call("list_items", list_name="colours")


def test_get_actors_returns_only_the_asked_fields_and_reports_missing_keys(call: Any, add: Any) -> None:
    key = add("customer", name="Fjord AS", country="NO", credit_limit=10.0)
    elsewhere = add("customer", company="OTHER", name="Hidden AB")
    supplier = add("supplier", name="Supplier Oy")
    response = call(
        "get_actors", actor_type="customer", erp_keys=[key, elsewhere, supplier, "x"], field_keys=["name", "country"]
    )
    [actor] = response.actors
    assert (actor.erp_key, actor.fields) == (key, {"name": "Fjord AS", "country": "NO"})
    assert response.not_found == [elsewhere, supplier, "x"]


def test_get_actors_names_unknown_fields(call: Any, add: Any) -> None:
    key = add("customer", name="Fjord AS")
    with pytest.raises(ValidationError, match="colour, size"):
        call("get_actors", actor_type="customer", erp_keys=[key], field_keys=["name", "size", "colour"])


def test_persons_carry_their_parent(call: Any, add: Any) -> None:
    partner = add("partner", name="Partner A/S")
    person = add("person", parent=("partner", partner), first_name="Ida", last_name="Holm")
    [actor] = call("get_actors", actor_type="person", erp_keys=[person], field_keys=["last_name"]).actors
    assert (actor.parent_type, actor.parent_key) == (m.ActorType.PARTNER, partner)


# --- create_actor ---------------------------------------------------------------------------------------------------


def _customer(**fields: m.Value) -> m.Actor:
    return m.Actor(actor_type=m.ActorType.CUSTOMER, fields=fields)


def test_create_actor_returns_the_whole_new_actor(call: Any) -> None:
    actor = call("create_actor", actor=_customer(name="Ny Kunde ApS", country="DK"), idempotency_key="k1").actor
    assert actor.erp_key
    assert actor.last_modified
    assert actor.fields["name"] == "Ny Kunde ApS"
    assert actor.fields["number"] == str(10000 + int(actor.erp_key))
    assert actor.fields["active"] is True
    assert actor.fields["blocked"] is False
    assert actor.fields["credit_limit"] == 0.0  # the connection's default credit limit
    assert actor.fields["created"].endswith("Z")


def test_create_actor_is_idempotent_by_key(call: Any, erp: SampleErp) -> None:
    first = call("create_actor", actor=_customer(name="Once ApS"), idempotency_key="same").actor
    again = call("create_actor", actor=_customer(name="Once ApS"), idempotency_key="same").actor
    other = call("create_actor", actor=_customer(name="Once ApS"), idempotency_key="other").actor
    assert first.erp_key == again.erp_key != other.erp_key
    assert erp.count(m.ActorType.CUSTOMER, "ACME") == 2


def test_create_actor_with_a_parent(call: Any, add: Any) -> None:
    customer = add("customer", name="Parent A/S")
    person = m.Actor(actor_type="person", parent_type="customer", parent_key=customer, fields={"last_name": "Berg"})
    created = call("create_actor", actor=person, idempotency_key="p1").actor
    assert (created.parent_type, created.parent_key) == (m.ActorType.CUSTOMER, customer)
    project = m.Actor(actor_type="project", fields={"name": "No parent needed"})
    assert call("create_actor", actor=project, idempotency_key="p2").actor.parent_key is None


@pytest.mark.parametrize(
    ("actor", "named"),
    [
        (_customer(country="DK"), "name"),
        (_customer(name="  "), "name"),
        (_customer(name="X", credit_limit="lots"), "credit_limit"),
        (_customer(name="X", country="Atlantis"), "country"),
        (_customer(name="X", blocked="no"), "blocked"),
        (_customer(name="X", employees=2.5), "employees"),
        (_customer(name="X" * 101), "name"),
        (_customer(name="X", number="42"), "number"),
        (_customer(name="X", colour="red"), "colour"),
        (m.Actor(actor_type="customer", erp_key="7", fields={"name": "X"}), "erp_key"),
        (m.Actor(actor_type="person", fields={"last_name": "Orphan"}), "parent"),
        (m.Actor(actor_type="person", parent_type="customer", parent_key="999", fields={"last_name": "X"}), "999"),
        (m.Actor(actor_type="person", parent_type="project", parent_key="1", fields={"last_name": "X"}), "project"),
        (m.Actor(actor_type="project", fields={"name": "X", "end_date": "soon"}), "end_date"),
    ],
)
def test_create_actor_refuses_bad_actors_and_creates_nothing(
    shared_call: Any, shared_erp: SampleErp, actor: m.Actor, named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        shared_call("create_actor", actor=actor, idempotency_key="bad")
    assert shared_erp.count(actor.actor_type, "ACME") == 0


# --- save_actors ----------------------------------------------------------------------------------------------------


def test_save_actors_saves_the_good_ones_and_reports_the_others_by_index(call: Any, add: Any, erp: SampleErp) -> None:
    first, second = add("customer", name="First"), add("customer", name="Second", employees=3)
    actors = [
        m.Actor(actor_type="customer", erp_key=first, fields={"name": "First, renamed", "currency": "EUR"}),
        m.Actor(actor_type="customer", erp_key="404", fields={"name": "Ghost"}),
        m.Actor(actor_type="customer", erp_key=second, fields={"name": "Half-written", "employees": "many"}),
        m.Actor(actor_type="customer", fields={"name": "No key"}),
    ]
    response = call("save_actors", actors=actors)
    [saved] = response.actors
    assert (saved.erp_key, saved.fields["name"], saved.fields["currency"]) == (first, "First, renamed", "EUR")
    errors = {error.index: error for error in response.errors}
    assert sorted(errors) == [1, 2, 3]
    assert (errors[1].error_code, errors[1].erp_key) == (m.ErrorCode.NOT_FOUND, "404")
    assert errors[2].error_code == m.ErrorCode.VALIDATION
    assert "employees" in errors[2].message
    assert errors[3].error_code == m.ErrorCode.VALIDATION
    names = call("get_actors", actor_type="customer", erp_keys=[second], field_keys=["name", "employees"]).actors
    assert names[0].fields == {"name": "Second", "employees": 3}  # nothing of the failed save was written


def test_saving_bumps_last_modified_only_when_something_changes(call: Any, add: Any) -> None:
    key = add("customer", name="Steady")

    def stamp() -> str:
        return call("get_actors", actor_type="customer", erp_keys=[key], field_keys=[]).actors[0].last_modified

    before = stamp()
    call("save_actors", actors=[m.Actor(actor_type="customer", erp_key=key, fields={"name": "Steady"})])
    assert stamp() == before
    call("save_actors", actors=[m.Actor(actor_type="customer", erp_key=key, fields={"name": "Moved"})])
    assert stamp() > before


def test_save_actors_can_move_a_person_to_another_parent(call: Any, add: Any) -> None:
    old, new = add("customer", name="Old"), add("supplier", name="New")
    person = add("person", parent=("customer", old), last_name="Mover")
    moved = m.Actor(actor_type="person", erp_key=person, parent_type="supplier", parent_key=new, fields={})
    [saved] = call("save_actors", actors=[moved]).actors
    assert (saved.parent_type, saved.parent_key) == (m.ActorType.SUPPLIER, new)
