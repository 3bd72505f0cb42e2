"""The ERP tab of companies and persons over real HTTP with the sample connector: sections, live fields, search,
compare and connect, create in the ERP with defaults, sync now, disconnect, broken links and access."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.fields import ORGANISATION, PERSON
from erpsync.connectors.sample.seed import DEMO_USER
from erpsync.crm.fields import EntityType
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpLink, SyncCreate
from erpsync.sync import creates, engine, locks
from erpsync.testing.sample import COMPANY, RunningSample, running_sample

from .conftest import Hub

CUSTOMER = m.ActorType.CUSTOMER
TAB_ORDER = ["email", "name", "country", "number"]


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


@dataclass
class Tab:
    """An active connection visible to ``member`` only, mapping customers and persons; CRM countries Denmark, Sweden."""

    hub: Hub
    admin: httpx.Client
    member: httpx.Client
    sample: RunningSample
    connection_id: int
    denmark: int
    sweden: int

    def company(self, name: str = "Acme", **values: Any) -> int:
        company_id: int = _ok(self.admin.post("/companies", json={"name": name, **values}), 201)["id"]
        return company_id

    def person(self, company_id: int, last_name: str) -> int:
        body = {"first_name": "Ann", "last_name": last_name, "company_id": company_id}
        person_id: int = _ok(self.admin.post("/persons", json=body), 201)["id"]
        return person_id

    def customer(self, name: str = "Acme", **values: m.Value) -> str:
        return self.sample.erp.create_actor(COMPANY, CUSTOMER, NewRecord(values={"name": name, **values}))

    def erp_person(self, parent_key: str, last_name: str) -> str:
        record = NewRecord(values={"last_name": last_name}, parent_key=parent_key, parent_type=CUSTOMER)
        return self.sample.erp.create_actor(COMPANY, m.ActorType.PERSON, record)

    def erp(self, erp_key: str, actor_type: m.ActorType = CUSTOMER) -> dict[str, m.Value]:
        fields = ORGANISATION.fields if actor_type is CUSTOMER else PERSON.fields
        return dict(self.sample.erp.fetch(COMPANY, actor_type, [erp_key], fields)[erp_key].fields)

    def crm(self, company_id: int) -> dict[str, Any]:
        body: dict[str, Any] = _ok(self.admin.get(f"/companies/{company_id}"))
        return body

    def url(self, company_id: int, path: str = "", *, entities: str = "companies") -> str:
        connection = f"/{self.connection_id}{path}" if path else ""
        return f"/{entities}/{company_id}/erp{connection}"

    def section(self, company_id: int, client: httpx.Client | None = None) -> dict[str, Any]:
        (section,) = _ok((client or self.member).get(self.url(company_id)))["sections"]
        assert isinstance(section, dict)
        return section

    def connect(self, company_id: int, erp_key: str, **winners: str) -> httpx.Response:
        body = {"actor_type": "customer", "erp_key": erp_key, "winners": winners}
        return self.member.post(self.url(company_id, "/connect"), json=body)


def _configure(admin: httpx.Client, connection_id: int, denmark: int, sweden: int) -> None:
    base = f"/connections/{connection_id}"
    customer = [
        {"erp_field": "name", "crm_field": "NAME", "direction": "both", "show_in_tab": True, "show_in_search": True},
        {"erp_field": "email", "crm_field": "EMAIL", "direction": "both", "show_in_tab": True, "show_in_search": True},
        {"erp_field": "country", "crm_field": "COUNTRY", "direction": "both", "show_in_tab": True},
        {"erp_field": "number", "crm_field": "NUMBER2", "direction": "to_crm", "show_in_tab": True},
    ]
    _ok(admin.put(f"{base}/mappings/customer", json={"active": True, "fields": customer}))
    person = [
        {"erp_field": "last_name", "crm_field": "LASTNAME", "direction": "both", "show_in_search": True},
        {"erp_field": "first_name", "crm_field": "FIRSTNAME", "direction": "both", "show_in_tab": True},
    ]
    _ok(admin.put(f"{base}/mappings/person", json={"active": True, "fields": person}))
    items = {"DK": denmark, "SE": sweden} | dict.fromkeys(["NO", "FI", "IS", "DE", "NL", "GB", "US"])
    _ok(admin.put(f"{base}/list-mappings", json={"lists": {"country": {"crm_list": "country", "items": items}}}))
    defaults = {
        "currency": {"ask_user": True, "mandatory": True},
        "payment_terms": {"value": "NET30"},
        "customer_group": {"value": "RETAIL", "ask_user": True},
    }
    _ok(admin.put(f"{base}/defaults/customer", json={"defaults": defaults}))
    _ok(admin.put(f"{base}/ranks/customer", json={"order": TAB_ORDER}))
    _ok(admin.post(f"{base}/activate"))


@pytest.fixture
def tab(hub: Hub, admin: httpx.Client, tmp_path: Path) -> Iterator[Tab]:
    member_id = hub.add_user("member", licences=("erp",))
    with running_sample(tmp_path / "sample") as sample, hub.sign_in("member") as member:
        connector = _ok(admin.post("/connectors", json={"name": "S", "url": sample.url, "secret": sample.secret}), 201)
        visibility = {"everyone": False, "users": [member_id], "groups": []}
        body = {"name": "Main", "connector_id": connector["id"], "config": sample.config, "visibility": visibility}
        connection_id = _ok(admin.post("/connections", json=body), 201)["id"]
        denmark, sweden = (_ok(admin.post("/lists/country", json={"label": label}), 201)["id"] for label in "DS")
        _configure(admin, connection_id, denmark, sweden)
        yield Tab(hub, admin, member, sample, connection_id, denmark, sweden)


# --- sections and access --------------------------------------------------------------------------------------------


def test_sections_are_the_active_connections_the_user_can_see(tab: Tab) -> None:
    company_id = tab.company()
    section = tab.section(company_id)
    assert section == {
        "connection_id": tab.connection_id,
        "connection_name": "Main",
        "actor_types": ["customer"],
        "link": None,
        "fields": [],
        "error": None,
    }
    person_section = _ok(tab.member.get(tab.url(tab.person(company_id, "Berg"), entities="persons")))["sections"]
    assert person_section[0]["actor_types"] == ["person"]
    tab.hub.add_user("outsider", licences=("erp",))
    with tab.hub.sign_in("outsider") as outsider:
        assert _ok(outsider.get(tab.url(company_id))) == {"sections": []}
        hidden = outsider.post(tab.url(company_id, "/search"), json={"actor_type": "customer"})
        assert hidden.status_code == 404
    tab.hub.add_user("unlicensed")
    with tab.hub.sign_in("unlicensed") as unlicensed:
        assert unlicensed.get(tab.url(company_id)).status_code == 403
        assert unlicensed.post(tab.url(company_id, "/sync")).status_code == 403
    assert tab.member.get(f"/companies/{company_id + 100}/erp").status_code == 404
    _ok(tab.admin.post(f"/connections/{tab.connection_id}/deactivate"))
    assert _ok(tab.member.get(tab.url(company_id))) == {"sections": []}
    assert tab.member.post(tab.url(company_id, "/search"), json={"actor_type": "customer"}).status_code == 404


def test_a_linked_company_shows_live_erp_fields_in_rank_order_with_list_labels(tab: Tab) -> None:
    erp_key = tab.customer(email="a@acme.example", country="DK")
    company_id = tab.company(email="a@acme.example", country_id=tab.denmark)
    _ok(tab.connect(company_id, erp_key), 201)
    tab.sample.erp.update_actor(COMPANY, CUSTOMER, erp_key, {"email": "new@acme.example"})  # not synced yet
    section = tab.section(company_id)
    assert section["link"]["erp_key"] == erp_key
    assert section["link"]["state"] == "ok"
    assert section["link"]["last_sync_at"] is not None
    number = tab.erp(erp_key)["number"]
    assert section["fields"] == [
        {"key": "email", "label": "Email", "value": "new@acme.example", "display": "new@acme.example"},
        {"key": "name", "label": "Name", "value": "Acme", "display": "Acme"},
        {"key": "country", "label": "Country", "value": "DK", "display": "Denmark"},
        {"key": "number", "label": "Number", "value": number, "display": number},
    ]


def test_a_checkbox_reads_as_a_bool_for_the_client_to_word_in_its_language(tab: Tab) -> None:
    base = f"/connections/{tab.connection_id}/mappings/customer"
    rows = _ok(tab.admin.get(base))["fields"]
    body_keys = ("erp_field", "crm_field", "direction", "show_in_search", "show_in_tab", "policy")
    shown = [
        {key: row[key] for key in body_keys} | {"show_in_tab": row["show_in_tab"] or row["erp_field"] == "blocked"}
        for row in rows
    ]
    _ok(tab.admin.put(base, json={"active": True, "fields": shown}))
    erp_key = tab.customer(blocked=True)
    company_id = tab.company()
    _ok(tab.connect(company_id, erp_key), 201)
    fields = {field["key"]: field for field in tab.section(company_id)["fields"]}
    assert fields["blocked"] == {"key": "blocked", "label": "Blocked", "value": True, "display": True}


def test_a_connector_that_fails_gives_the_section_an_error_and_operations_a_502(tab: Tab) -> None:
    company_id = tab.company()
    _ok(tab.connect(company_id, tab.customer()), 201)
    tab.sample.erp.set_password(DEMO_USER, "changed in the ERP")
    section = tab.section(company_id)
    assert section["fields"] == []
    assert "refused the user name or password" in section["error"]
    failed = tab.member.post(tab.url(company_id, "/search"), json={"actor_type": "customer", "text": "x"})
    assert failed.status_code == 502
    assert failed.json()["reason"] == "auth"
    assert "refused the user name or password" in failed.json()["detail"]


# --- search ---------------------------------------------------------------------------------------------------------


def test_simple_search_runs_with_the_entity_name_and_flags_linked_actors(tab: Tab) -> None:
    first, second = tab.customer("Acme A/S", email="x@acme.example"), tab.customer("Acme Trading")
    tab.customer("Other")
    _ok(tab.connect(tab.company("Acme Trading"), second), 201)
    hits = _ok(tab.member.post(tab.url(tab.company("Acme"), "/search"), json={"actor_type": "customer"}))
    assert [(hit["erp_key"], hit["linked"]) for hit in hits] == [(first, False), (second, True)]
    assert hits[0]["fields"] == [  # the fields marked show in search, in rank order
        {"key": "email", "label": "Email", "value": "x@acme.example", "display": "x@acme.example"},
        {"key": "name", "label": "Name", "value": "Acme A/S", "display": "Acme A/S"},
    ]
    other = _ok(tab.member.post(tab.url(tab.company("Z"), "/search"), json={"actor_type": "customer", "text": "oth"}))
    assert [hit["fields"][1]["value"] for hit in other] == ["Other"]
    refused = tab.member.post(tab.url(tab.company("Z2"), "/search"), json={"actor_type": "supplier"})
    assert refused.status_code == 422


def test_advanced_search_checks_every_restriction_against_the_searchable_fields(tab: Tab) -> None:
    tab.customer("Acme A/S", country="DK")
    wanted = tab.customer("Acme Trading", country="SE")
    company_id = tab.company()
    restrictions = [
        {"field": "name", "operator": "begins", "values": ["acme"]},
        {"field": "country", "operator": "oneof", "values": ["SE", "NO"]},
    ]
    hits = _ok(
        tab.member.post(tab.url(company_id, "/search"), json={"actor_type": "customer", "restrictions": restrictions})
    )
    assert [hit["erp_key"] for hit in hits] == [wanted]
    bad = [
        {"field": "name", "operator": "begins", "values": ["acme"]},
        {"field": "name", "operator": "oneof", "values": ["acme"]},
        {"field": "nosuch", "operator": "=", "values": ["x"]},
        {"field": "employees", "operator": "between", "values": [1]},
        {"field": "country", "operator": "like", "values": ["SE"]},
    ]
    refused = tab.member.post(tab.url(company_id, "/search"), json={"actor_type": "customer", "restrictions": bad})
    assert refused.status_code == 422
    assert [(problem["loc"][2], problem["loc"][3]) for problem in refused.json()["detail"]] == [
        (1, "operator"),
        (2, "field"),
        (3, "values"),
        (4, "operator"),
    ]


def test_a_person_searches_under_its_company_actor(tab: Tab) -> None:
    parent, other = tab.customer("Acme"), tab.customer("Other")
    mine = tab.erp_person(parent, "Berg")
    tab.erp_person(other, "Berg")
    company_id = tab.company()
    person_id = tab.person(company_id, "Berg")
    search = {"actor_type": "person"}
    assert tab.member.post(tab.url(person_id, "/search", entities="persons"), json=search).status_code == 422
    _ok(tab.connect(company_id, parent), 201)
    hits = _ok(tab.member.post(tab.url(person_id, "/search", entities="persons"), json=search))
    assert [hit["erp_key"] for hit in hits] == [mine]
    advanced = {"actor_type": "person", "restrictions": [{"field": "last_name", "operator": "=", "values": ["berg"]}]}
    hits = _ok(tab.member.post(tab.url(person_id, "/search", entities="persons"), json=advanced))
    assert [hit["erp_key"] for hit in hits] == [mine]


def test_person_hits_show_the_names_when_no_field_is_marked_show_in_search(tab: Tab) -> None:
    """Without *Show in search* a person hit carries the ERP's number and the fields paired with the CRM's first and
    last name, not the number alone."""
    person = [
        {"erp_field": "last_name", "crm_field": "LASTNAME", "direction": "both"},
        {"erp_field": "first_name", "crm_field": "FIRSTNAME", "direction": "both"},
    ]
    _ok(tab.admin.put(f"/connections/{tab.connection_id}/mappings/person", json={"active": True, "fields": person}))
    parent = tab.customer("Acme")
    record = NewRecord(values={"first_name": "Ann", "last_name": "Berg"}, parent_key=parent, parent_type=CUSTOMER)
    mine = tab.sample.erp.create_actor(COMPANY, m.ActorType.PERSON, record)
    company_id = tab.company()
    person_id = tab.person(company_id, "Berg")
    _ok(tab.connect(company_id, parent), 201)
    (hit,) = _ok(tab.member.post(tab.url(person_id, "/search", entities="persons"), json={"actor_type": "person"}))
    assert hit["erp_key"] == mine
    values = {field["key"]: field["value"] for field in hit["fields"]}
    assert (values["first_name"], values["last_name"]) == ("Ann", "Berg")
    assert len(values) >= 3, "the number too"


# --- compare and connect --------------------------------------------------------------------------------------------


def test_connect_takes_the_users_winners_and_updates_both_sides(tab: Tab) -> None:
    erp_key = tab.customer(email="erp@acme.example", country="SE")
    company_id = tab.company(email="crm@acme.example", country_id=tab.denmark)
    query = {"actor_type": "customer", "erp_key": erp_key}
    compared = _ok(tab.member.get(tab.url(company_id, "/compare"), params=query))
    by_field = {row["crm_field"]: row for row in compared}
    assert (by_field["EMAIL"]["crm"], by_field["EMAIL"]["erp"], by_field["EMAIL"]["choice_needed"]) == (
        "crm@acme.example",
        "erp@acme.example",
        True,
    )
    assert (by_field["COUNTRY"]["crm_display"], by_field["COUNTRY"]["erp_display"]) == ("Denmark", "Sweden")
    assert (by_field["NAME"]["differ"], by_field["NUMBER2"]["choice_needed"]) == (False, False)
    missing = tab.connect(company_id, erp_key, EMAIL="crm")
    assert missing.status_code == 422
    assert [problem["loc"] for problem in missing.json()["detail"]] == [["body", "winners", "COUNTRY"]]
    assert tab.section(company_id)["link"] is None
    linked = _ok(tab.connect(company_id, erp_key, EMAIL="crm", COUNTRY="erp"), 201)
    assert linked["changed"] == {"crm": ["COUNTRY", "NUMBER2"], "erp": ["email"]}
    assert tab.erp(erp_key)["email"] == "crm@acme.example"
    crm = tab.crm(company_id)
    assert (crm["email"], crm["country_id"], crm["number2"]) == (
        "crm@acme.example",
        tab.sweden,
        tab.erp(erp_key)["number"],
    )
    assert linked["link"]["state"] == "ok"
    assert _ok(tab.member.post(tab.url(company_id, "/sync")))["changed"] == {"crm": [], "erp": []}


def test_connect_keeps_the_link_rules(tab: Tab) -> None:
    acme, other = tab.customer("Acme"), tab.customer("Other")
    company_id, second_company = tab.company(), tab.company("Acme 2")
    person_id = tab.person(company_id, "Berg")
    person_body = {"actor_type": "person", "erp_key": tab.erp_person(acme, "Berg"), "winners": {"FIRSTNAME": "crm"}}
    stranger = {"actor_type": "person", "erp_key": tab.erp_person(other, "Berg"), "winners": {}}
    person_url = tab.url(person_id, "/connect", entities="persons")
    assert tab.member.post(person_url, json=person_body).status_code == 422  # its company is not linked
    _ok(tab.connect(company_id, acme), 201)
    assert tab.connect(company_id, other).status_code == 409  # one actor per connection
    assert tab.connect(second_company, acme).status_code == 409  # the actor is linked to another company
    assert tab.connect(second_company, "999999").status_code == 404
    assert tab.member.post(person_url, json=stranger).status_code == 422  # under another company's actor
    _ok(tab.member.post(person_url, json=person_body), 201)


# --- create ---------------------------------------------------------------------------------------------------------


def test_create_asks_for_the_defaults_and_refuses_a_missing_mandatory_one(tab: Tab) -> None:
    company_id = tab.company(email="a@acme.example", country_id=tab.denmark)
    form = _ok(tab.member.get(tab.url(company_id, "/create-form"), params={"actor_type": "customer"}))
    assert [(p["key"], p["type"], p["value"], p["mandatory"]) for p in form] == [
        ("currency", "list", None, True),
        ("customer_group", "list", "RETAIL", False),
    ]
    assert {"key": "DKK", "label": "Danish krone", "code": None} in form[0]["items"]
    before = tab.sample.erp.count(CUSTOMER)
    refused = tab.member.post(tab.url(company_id, "/create"), json={"actor_type": "customer", "values": {}})
    assert refused.status_code == 422
    assert [problem["loc"] for problem in refused.json()["detail"]] == [["body", "values", "currency"]]
    assert tab.sample.erp.count(CUSTOMER) == before
    body = {"actor_type": "customer", "values": {"currency": "DKK"}}
    created = _ok(tab.member.post(tab.url(company_id, "/create"), json=body), 201)
    erp_key = created["link"]["erp_key"]
    values = tab.erp(erp_key)
    assert (values["name"], values["email"], values["country"]) == ("Acme", "a@acme.example", "DK")
    assert (values["currency"], values["payment_terms"], values["customer_group"]) == ("DKK", "NET30", "RETAIL")
    assert tab.crm(company_id)["number2"] == values["number"]  # the number the ERP gave came back
    assert tab.sample.erp.count(CUSTOMER) == before + 1
    assert tab.member.post(tab.url(company_id, "/create"), json=body).status_code == 409


def _ask_for_the_name(tab: Tab) -> None:
    defaults = {"currency": {"ask_user": True, "mandatory": True}, "name": {"ask_user": True}}
    _ok(tab.admin.put(f"/connections/{tab.connection_id}/defaults/customer", json={"defaults": defaults}))


def test_an_asked_value_changed_in_the_dialog_goes_to_the_erp_only(tab: Tab) -> None:
    """The CRM keeps its name through later syncs while the ERP keeps the typed one; a later CRM edit still flows."""
    _ask_for_the_name(tab)
    company_id = tab.company("Acme")
    form = _ok(tab.member.get(tab.url(company_id, "/create-form"), params={"actor_type": "customer"}))
    prompts = [(p["key"], p["value"], p["from_record"]) for p in form]
    assert prompts == [("name", "Acme", True), ("currency", None, False)]
    body = {"actor_type": "customer", "values": {"currency": "DKK", "name": "Acme Holding A/S"}}
    erp_key = _ok(tab.member.post(tab.url(company_id, "/create"), json=body), 201)["link"]["erp_key"]
    for _ in range(2):
        assert _ok(tab.member.post(tab.url(company_id, "/sync")))["changed"] == {"crm": [], "erp": []}
        assert (tab.crm(company_id)["name"], tab.erp(erp_key)["name"]) == ("Acme", "Acme Holding A/S")
    _ok(tab.admin.patch(f"/companies/{company_id}", json={"name": "Acme Group"}))
    assert _ok(tab.member.post(tab.url(company_id, "/sync")))["changed"] == {"crm": [], "erp": ["name"]}
    assert tab.erp(erp_key)["name"] == "Acme Group"
    assert _ok(tab.member.post(tab.url(company_id, "/sync")))["changed"] == {"crm": [], "erp": []}


def test_an_asked_value_ticked_to_update_the_crm_renames_the_record(tab: Tab) -> None:
    _ask_for_the_name(tab)
    company_id = tab.company("Acme")
    body = {"actor_type": "customer", "values": {"currency": "DKK", "name": "Acme A/S"}, "update_crm": ["name"]}
    erp_key = _ok(tab.member.post(tab.url(company_id, "/create"), json=body), 201)["link"]["erp_key"]
    assert (tab.crm(company_id)["name"], tab.erp(erp_key)["name"]) == ("Acme A/S", "Acme A/S")
    assert _ok(tab.member.post(tab.url(company_id, "/sync")))["changed"] == {"crm": [], "erp": []}
    wrong = {"actor_type": "customer", "values": {"currency": "DKK"}, "update_crm": ["currency"]}
    other = tab.company("Other")
    refused = tab.member.post(tab.url(other, "/create"), json=wrong)
    assert refused.status_code == 422
    assert "pre-filled from the record" in refused.text
    assert tab.section(other)["link"] is None


def test_a_create_retried_after_a_lost_answer_reuses_the_pending_intent(tab: Tab) -> None:
    company_id = tab.company()
    actor = m.Actor(actor_type=CUSTOMER, fields={"name": "Acme", "currency": "EUR"})
    intent = creates.record_intent(
        tab.hub.database,
        connection_id=tab.connection_id,
        entity_type=EntityType.COMPANY,
        entity_id=company_id,
        actor=actor,
    )
    # The ERP created the actor but its answer never reached the hub.
    first = tab.sample.erp.create_actor(
        COMPANY, CUSTOMER, NewRecord(values=actor.fields), idempotency_key=intent.idempotency_key
    )
    before = tab.sample.erp.count(CUSTOMER)
    body = {"actor_type": "customer", "values": {"currency": "EUR"}}
    created = _ok(tab.member.post(tab.url(company_id, "/create"), json=body), 201)
    assert created["link"]["erp_key"] == first
    assert tab.sample.erp.count(CUSTOMER) == before
    with tab.hub.database.read_session() as session:
        stored = session.scalars(select(SyncCreate)).one()
        assert (stored.status, stored.erp_key) == (creates.DONE, first)


# --- sync now, disconnect, broken links -----------------------------------------------------------------------------


def test_sync_now_answers_what_changed_and_disconnect_removes_only_the_link(tab: Tab) -> None:
    erp_key = tab.customer(email="a@acme.example")
    company_id = tab.company(email="a@acme.example")
    _ok(tab.connect(company_id, erp_key), 201)
    tab.sample.erp.update_actor(COMPANY, CUSTOMER, erp_key, {"email": "erp@acme.example"})
    result = _ok(tab.member.post(tab.url(company_id, "/sync")))
    assert (result["changed"], result["conflicts"], result["errors"]) == ({"crm": ["EMAIL"], "erp": []}, [], [])
    assert tab.crm(company_id)["email"] == "erp@acme.example"
    _ok(tab.admin.patch(f"/companies/{company_id}", json={"name": "Acme Group"}))
    assert _ok(tab.member.post(tab.url(company_id, "/sync")))["changed"] == {"crm": [], "erp": ["name"]}
    assert tab.erp(erp_key)["name"] == "Acme Group"
    assert tab.member.delete(tab.url(company_id, "/link")).status_code == 204
    assert tab.section(company_id)["link"] is None
    assert tab.erp(erp_key)["name"] == "Acme Group"  # nothing deleted in the ERP
    assert tab.member.delete(tab.url(company_id, "/link")).status_code == 404
    assert tab.member.post(tab.url(company_id, "/sync")).status_code == 404


def test_sync_now_while_another_sync_holds_the_record_is_a_409_that_says_so(
    tab: Tab, monkeypatch: pytest.MonkeyPatch
) -> None:
    erp_key = tab.customer(email="a@acme.example")
    company_id = tab.company(email="a@acme.example")
    _ok(tab.connect(company_id, erp_key), 201)
    with tab.hub.database.read_session() as session:
        link_id = session.scalars(select(ErpLink.id).where(ErpLink.erp_key == erp_key)).one()
    monkeypatch.setattr(engine, "LINK_LOCK_WAIT_SECONDS", 0.2)
    with locks.held(tab.hub.database, locks.link_lock(link_id)):  # another sync of the record
        answer = tab.member.post(tab.url(company_id, "/sync"))
    assert answer.status_code == 409
    assert answer.json()["detail"] == "another sync of this record is under way: try again when it is done"
    assert _ok(tab.member.post(tab.url(company_id, "/sync")))["errors"] == []  # free again


def test_an_actor_deleted_in_the_erp_shows_as_a_broken_link(tab: Tab) -> None:
    erp_key = tab.customer()
    company_id = tab.company()
    _ok(tab.connect(company_id, erp_key), 201)
    tab.sample.erp.delete_actor(COMPANY, CUSTOMER, erp_key)
    assert "deleted or is missing" in tab.section(company_id)["error"]
    result = _ok(tab.member.post(tab.url(company_id, "/sync")))
    assert (result["state"], [e["reason"] for e in result["errors"]]) == ("broken", ["not_found"])
    section = tab.section(company_id)
    assert section["link"]["state"] == "broken"
    assert section["link"]["last_error"]
    with tab.hub.database.read_session() as session:
        assert session.scalars(select(ErpLink)).one().entity_id == company_id  # the CRM record and link stay
