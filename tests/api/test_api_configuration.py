"""A connection's sync configuration over real HTTP with the sample connector: mappings, list mappings, defaults,
ranks, conflict policy, sync priority, activation, audit and access."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpsync import audit
from erpsync.connectors.sample.fields import LISTS
from erpsync.storage.tables import ConnectionActorFields, ErpConnection, SyncActorMapping
from erpsync.sync.configuration import changing
from erpsync.testing.sample import RunningSample, running_sample

from .conftest import Hub

COUNTRIES = [item.key for item in LISTS["country"]]


@dataclass
class Setup:
    hub: Hub
    admin: httpx.Client
    sample: RunningSample
    connector_id: int
    connection_id: int

    @property
    def base(self) -> str:
        return f"/connections/{self.connection_id}"

    def create(self, name: str) -> int:
        body = {"name": name, "connector_id": self.connector_id, "config": self.sample.config}
        created = self.admin.post("/connections", json=body)
        assert created.status_code == 201, created.text
        connection_id: int = created.json()["id"]
        return connection_id

    def get(self, path: str) -> Any:
        answer = self.admin.get(self.base + path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.admin.put(self.base + path, json=body)

    def country_items(self, *labels: str) -> list[int]:
        ids = []
        for label in labels:
            added = self.admin.post("/lists/country", json={"label": label})
            assert added.status_code == 201, added.text
            ids.append(added.json()["id"])
        return ids


@pytest.fixture
def setup(hub: Hub, admin: httpx.Client, tmp_path: Path) -> Iterator[Setup]:
    with running_sample(tmp_path / "sample") as sample:
        added = admin.post("/connectors", json={"name": "Sample", "url": sample.url, "secret": sample.secret})
        assert added.status_code == 201, added.text
        partial = Setup(hub, admin, sample, added.json()["id"], 0)
        partial.connection_id = partial.create("Main")
        yield partial


def _rows(mapping: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["erp_field"]: row for row in mapping["fields"]}


def _row(erp_field: str, crm_field: str | None = None, direction: str = "none", **extra: Any) -> dict[str, Any]:
    return {"erp_field": erp_field, "crm_field": crm_field, "direction": direction, **extra}


def _messages(answer: httpx.Response) -> list[str]:
    return [" / ".join([*problem["loc"], problem["msg"]]) for problem in answer.json()["detail"]]


def _runnable_customer(setup: Setup) -> None:
    """A customer mapping that can be activated: name and country sync both ways, every country item paired."""
    rows = [_row("name", "NAME", "both", show_in_tab=True), _row("country", "COUNTRY", "both", show_in_tab=True)]
    assert setup.put("/mappings/customer", {"active": True, "fields": rows}).status_code == 200
    items = dict(zip(COUNTRIES, [*setup.country_items("Denmark", "Sweden"), *[None] * 7], strict=True))
    saved = setup.put("/list-mappings", {"lists": {"country": {"crm_list": "country", "items": items}}})
    assert saved.status_code == 200, saved.text


# --- mappings ---------------------------------------------------------------------------------------------------------


def test_a_new_connection_is_auto_mapped_by_key_with_no_direction_and_switched_off(setup: Setup) -> None:
    mapping = setup.get("/mappings/customer")
    assert mapping["active"] is False
    assert mapping["entity"] == "company"
    rows = _rows(mapping)
    keys = ("name", "org_number", "vat_number", "country", "blocked", "active")
    assert {key: rows[key]["crm_field"] for key in keys} == {
        "name": "NAME",
        "org_number": "NUMBER1",
        "vat_number": "VATNO",
        "country": "COUNTRY",
        "blocked": None,
        "active": "ACTIVE",  # the CRM's active flag, paired by key
    }
    assert {row["direction"] for row in mapping["fields"]} == {"none"}
    assert rows["name"]["label"] == "Name"
    assert rows["name"]["type"] == "text"
    assert "DEPARTMENT" in rows["name"]["compatible_crm_fields"]
    assert rows["country"]["compatible_crm_fields"] == ["COUNTRY", "BUSINESS", "CATEGORY"]
    assert rows["blocked"]["compatible_crm_fields"] == ["ACTIVE"]  # a checkbox pairs with the active flag only
    assert rows["number"]["read_only"] is True
    assert not any(row["missing_in_erp"] for row in mapping["fields"])
    person = _rows(setup.get("/mappings/person"))
    assert person["last_name"]["crm_field"] == "LASTNAME"


def test_a_mapping_that_breaks_rules_is_refused_with_every_reason_and_nothing_changes(setup: Setup) -> None:
    before = setup.get("/mappings/customer")
    rows = [
        _row("nope", "URL", "both"),
        _row("country", "NAME", "to_crm"),
        _row("number", "NUMBER2", "to_erp"),
        _row("email", None, "both"),
        _row("name", "DEPARTMENT", "to_crm"),
        _row("org_number", "DEPARTMENT", "both"),
        _row("phone", "NOSUCH", "both"),
    ]
    refused = setup.put("/mappings/customer", {"active": True, "fields": rows})
    assert refused.status_code == 422
    assert sorted(_messages(refused)) == [
        "customer / country / ERP field of type list cannot pair with NAME of type text",
        "customer / email / a direction needs a CRM field",
        "customer / nope / unknown ERP field 'nope'",
        "customer / number / a read-only ERP field cannot sync to the ERP",
        "customer / org_number / CRM field DEPARTMENT is written from both 'name' and 'org_number'",
        "customer / phone / unknown company field 'NOSUCH'",
    ]
    assert setup.get("/mappings/customer") == before


def test_a_saved_mapping_keeps_ranks_and_per_field_policy(setup: Setup) -> None:
    ranks = {row["erp_field"]: row["rank"] for row in setup.get("/mappings/customer")["fields"]}
    rows = [
        _row("email", "EMAIL", "both", show_in_tab=True, policy="crm"),
        _row("name", "NAME", "to_crm", show_in_search=True),
    ]
    saved = setup.put("/mappings/customer", {"active": True, "fields": rows})
    assert saved.status_code == 200, saved.text
    mapping = setup.get("/mappings/customer")
    assert mapping == saved.json()
    assert mapping["active"] is True
    stored = _rows(mapping)
    assert [key for key, row in stored.items() if row["direction"] != "none"] == ["name", "email"]  # rank order
    assert stored["email"]["policy"] == "crm"
    assert stored["email"]["rank"] == ranks["email"]
    assert stored["name"]["show_in_search"] is True
    assert stored["vat_number"]["crm_field"] is None  # ERP fields left out are offered again, unmapped


def test_delete_policies_are_saved_with_the_mapping_refused_with_reasons_and_previewed(setup: Setup) -> None:
    assert (setup.get("/mappings/customer")["erp_delete"], setup.get("/mappings/customer")["crm_delete"]) == (
        "keep",
        "unlink",
    )
    assert setup.get("/mappings/customer/delete-preview?erp_delete=delete") == {
        "erp_delete": "delete",
        "broken": 0,
        "deleted": 0,
        "deactivated": 0,
    }
    rows = [_row("name", "NAME", "both")]
    body = {"fields": rows, "erp_delete": "delete", "crm_delete": "deactivate_in_erp"}
    saved = setup.put("/mappings/customer", body)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["erp_delete"], saved.json()["crm_delete"]) == ("delete", "deactivate_in_erp")
    before = setup.get("/mappings/project")
    refused = setup.put("/mappings/project", {"erp_delete": "deactivate", "crm_delete": "deactivate_in_erp"})
    assert refused.status_code == 422
    assert sorted(_messages(refused)) == [  # every CRM entity has its active flag: ``deactivate`` is no problem
        "project / crm_delete / the connector offers no writable 'active' checkbox for a project, so the ERP actor "
        "cannot be deactivated: choose unlink",
    ]
    assert setup.get("/mappings/project") == before
    assert setup.admin.get(setup.base + "/mappings/customer/delete-preview?erp_delete=drop").status_code == 422


def test_fields_the_connector_stops_reporting_are_flagged_and_new_ones_auto_mapped_on_refresh(setup: Setup) -> None:
    with setup.hub.database.session() as session, changing(session.get_one(ErpConnection, setup.connection_id)):
        cache = session.get(ConnectionActorFields, (setup.connection_id, "customer"))
        assert cache is not None
        cache.fields_json = [field for field in cache.fields_json if field["key"] != "vat_number"]
        row = session.get(SyncActorMapping, (setup.connection_id, "customer"))
        assert row is not None
        row.fields_json = [field for field in row.fields_json if field["erp_field"] != "email"]
    assert setup.put("/mappings/customer", {"fields": [_row("vat_number", "VATNO", "both")]}).status_code == 422
    flagged = _rows(setup.get("/mappings/customer"))
    assert flagged["vat_number"]["missing_in_erp"] is True
    assert flagged["email"]["crm_field"] is None  # not stored: offered as an unmapped row

    assert setup.admin.post(f"{setup.base}/refresh").status_code == 200
    refreshed = _rows(setup.get("/mappings/customer"))
    assert refreshed["vat_number"]["missing_in_erp"] is False
    assert (refreshed["email"]["crm_field"], refreshed["email"]["direction"]) == ("EMAIL", "none")


# --- list mappings ----------------------------------------------------------------------------------------------------


def test_list_mappings_show_both_lists_and_refuse_a_crm_item_used_twice(setup: Setup) -> None:
    assert setup.put("/mappings/customer", {"fields": [_row("country", "COUNTRY", "both")]}).status_code == 200
    denmark, sweden = setup.country_items("Denmark", "Sweden")
    screen = setup.get("/list-mappings")["lists"]
    assert list(screen) == ["country"]
    assert screen["country"]["crm_list"] == "country"
    assert screen["country"]["saved"] is False
    assert [item["key"] for item in screen["country"]["erp_items"]] == COUNTRIES
    assert screen["country"]["crm_items"] == [{"id": denmark, "label": "Denmark"}, {"id": sweden, "label": "Sweden"}]

    body = {
        "country": {"crm_list": "country", "items": {"DK": denmark, "SE": denmark, "XX": sweden, "NO": 999}},
        "colour": {"crm_list": "business", "items": {}},
    }
    refused = setup.put("/list-mappings", {"lists": body})
    assert refused.status_code == 422
    assert _messages(refused) == [
        "country / SE / CRM item 'Denmark' is paired with both 'DK' and 'SE'",
        "country / XX / unknown ERP item 'XX' in list 'country'",
        "country / NO / unknown CRM item 999 in list 'country'",
        "colour / no ERP field of this connection takes its values from a list named 'colour'",
    ]
    assert setup.get("/list-mappings")["lists"]["country"]["saved"] is False

    body = {"country": {"crm_list": "country", "items": {"DK": denmark, "SE": sweden, "NO": None}}}
    saved = setup.put("/list-mappings", {"lists": body})
    assert saved.status_code == 200, saved.text
    assert saved.json()["lists"]["country"]["items"] == {"DK": denmark, "SE": sweden, "NO": None}
    assert setup.get("/list-mappings") == saved.json()


# --- defaults ---------------------------------------------------------------------------------------------------------


def test_defaults_are_checked_and_fields_the_connector_requires_are_mandatory(setup: Setup) -> None:
    screen = setup.get("/defaults/customer")
    assert screen["defaults"] == {}
    keys = [field["key"] for field in screen["fields"]]
    assert "name" in keys
    assert "number" not in keys  # read-only: nothing to give
    bad = {
        "name": {"value": None, "ask_user": False},
        "credit_limit": {"value": "a lot"},
        "number": {"value": "X1"},
        "colour": {"value": "red"},
    }
    refused = setup.put("/defaults/customer", {"defaults": bad})
    assert refused.status_code == 422
    assert _messages(refused) == [
        "customer / name / a mandatory default needs a value or must ask the user",
        "customer / credit_limit / 'a lot' is not a number",
        "customer / number / this ERP field cannot be given a value",
        "customer / colour / unknown ERP field 'colour'",
    ]
    assert setup.get("/defaults/customer")["defaults"] == {}

    good = {
        "name": {"ask_user": True},
        "credit_limit": {"value": 5000.0},
        "currency": {"value": "DKK", "ask_user": True},
    }
    saved = setup.put("/defaults/customer", {"defaults": good})
    assert saved.status_code == 200, saved.text
    defaults = setup.get("/defaults/customer")["defaults"]
    assert defaults["name"] == {"value": None, "ask_user": True, "mandatory": True}
    assert defaults["credit_limit"] == {"value": 5000.0, "ask_user": False, "mandatory": False}
    assert defaults["currency"]["value"] == "DKK"


# --- ranks ------------------------------------------------------------------------------------------------------------


def test_ranks_order_every_field_once_and_survive_a_mapping_save(setup: Setup) -> None:
    order = setup.get("/ranks/customer")["order"]
    assert (order[:2], order[-2:]) == (["number", "name"], ["active", "created"])
    reordered = list(reversed(order))
    saved = setup.put("/ranks/customer", {"order": reordered})
    assert saved.status_code == 200, saved.text
    assert saved.json()["order"] == reordered
    assert saved.json()["labels"]["name"] == "Name"

    refused = setup.put("/ranks/customer", {"order": ["name", "name", "colour", *reordered[2:]]})
    assert refused.status_code == 422
    assert _messages(refused) == [
        "customer / colour / unknown ERP field 'colour'",
        "customer / name / ERP field 'name' is named 3 times",
        "customer / created / ERP field 'created' is missing from the order",
        "customer / active / ERP field 'active' is missing from the order",
    ]
    assert setup.get("/ranks/customer")["order"] == reordered

    rows = [_row(key, None) for key in order]  # a mapping save in another order keeps the ranks
    assert setup.put("/mappings/customer", {"fields": rows}).status_code == 200
    assert setup.get("/ranks/customer")["order"] == reordered


# --- conflict policy --------------------------------------------------------------------------------------------------


def test_conflict_policy_and_blank_option(setup: Setup) -> None:
    assert setup.get("/policy") == {"policy": "newest", "no_blank_overwrite": False}
    saved = setup.put("/policy", {"policy": "erp", "no_blank_overwrite": True})
    assert saved.status_code == 200, saved.text
    assert setup.get("/policy") == {"policy": "erp", "no_blank_overwrite": True}
    assert setup.put("/policy", {"policy": "oldest"}).status_code == 422
    assert setup.get("/policy") == {"policy": "erp", "no_blank_overwrite": True}


# --- sync priority ----------------------------------------------------------------------------------------------------


def test_sync_priority_orders_every_live_connection_once(setup: Setup) -> None:
    main, second, third = setup.connection_id, setup.create("Second"), setup.create("Third")
    assert setup.admin.get("/sync-priority").json()["connection_ids"] == [main, second, third]
    saved = setup.admin.put("/sync-priority", json={"connection_ids": [third, main, second]})
    assert saved.status_code == 200, saved.text
    assert [c["name"] for c in saved.json()["connections"]] == ["Third", "Main", "Second"]
    assert [c["id"] for c in setup.admin.get("/connections").json()] == [third, main, second]

    refused = setup.admin.put("/sync-priority", json={"connection_ids": [third, third, 999]})
    assert refused.status_code == 422
    assert _messages(refused) == [
        "999 / unknown connection '999'",
        f"{third} / connection '{third}' is named 2 times",
        f"{main} / connection '{main}' is missing from the order",
        f"{second} / connection '{second}' is missing from the order",
    ]
    assert setup.admin.delete(f"/connections/{second}").status_code == 204
    assert setup.admin.get("/sync-priority").json()["connection_ids"] == [third, main]
    assert setup.admin.put("/sync-priority", json={"connection_ids": [main, third]}).status_code == 200


# --- activation -------------------------------------------------------------------------------------------------------


def test_activation_lists_every_reason_then_succeeds_once_fixed(setup: Setup) -> None:
    nothing_on = setup.admin.post(f"{setup.base}/activate")
    assert nothing_on.status_code == 409
    assert _messages(nothing_on) == ["no actor type is switched on: switch on the mapping of at least one"]

    rows = [_row("country", "COUNTRY", "both"), _row("name", "NAME", "to_crm")]
    assert setup.put("/mappings/customer", {"active": True, "fields": rows}).status_code == 200
    assert setup.put("/mappings/project", {"active": True, "fields": []}).status_code == 200
    refused = setup.admin.post(f"{setup.base}/activate")
    assert refused.status_code == 409
    assert _messages(refused) == [
        "customer / name / a mandatory ERP field needs a CRM→ERP direction or a default",
        "customer / country / list 'country' has no list mapping",
        "project / name / a mandatory ERP field needs a CRM→ERP direction or a default",
    ]
    assert setup.admin.get(setup.base).json()["active"] is False

    assert setup.put("/defaults/project", {"defaults": {"name": {"ask_user": True}}}).status_code == 200
    _runnable_customer(setup)
    activated = setup.admin.post(f"{setup.base}/activate")
    assert activated.status_code == 200, activated.text
    assert activated.json() == {"id": setup.connection_id, "active": True}
    assert setup.admin.get(setup.base).json()["active"] is True


def test_an_active_connection_stays_editable_within_the_activation_rules(setup: Setup) -> None:
    _runnable_customer(setup)
    assert setup.admin.post(f"{setup.base}/activate").status_code == 200
    mapping, lists = setup.get("/mappings/customer"), setup.get("/list-mappings")

    breaking = setup.put("/mappings/customer", {"active": True, "fields": [_row("country", "COUNTRY", "both")]})
    assert breaking.status_code == 422
    assert _messages(breaking) == ["customer / name / a mandatory ERP field needs a CRM→ERP direction or a default"]
    items = dict(lists["lists"]["country"]["items"])
    del items["DK"]
    unpaired = setup.put("/list-mappings", {"lists": {"country": {"crm_list": "country", "items": items}}})
    assert unpaired.status_code == 422
    assert _messages(unpaired) == ["country / DK / ERP item 'DK' is not paired: choose a CRM item or no selection"]
    switched_off = setup.put("/mappings/customer", {"active": False, "fields": mapping["fields"]})
    assert switched_off.status_code == 422
    assert setup.get("/mappings/customer") == mapping
    assert setup.get("/list-mappings") == lists

    rows = [_row("name", "NAME", "both", show_in_tab=False), _row("country", "COUNTRY", "to_crm")]
    assert setup.put("/mappings/customer", {"active": True, "fields": rows}).status_code == 200

    assert setup.admin.post(f"{setup.base}/deactivate").json() == {"id": setup.connection_id, "active": False}
    assert setup.put("/mappings/customer", {"active": True, "fields": [_row("country", "COUNTRY", "both")]}).is_success


# --- audit and access -------------------------------------------------------------------------------------------------


def test_every_change_is_audited(setup: Setup) -> None:
    _runnable_customer(setup)
    assert setup.put("/policy", {"policy": "crm"}).status_code == 200
    assert setup.admin.post(f"{setup.base}/activate").status_code == 200
    assert setup.admin.put("/sync-priority", json={"connection_ids": [setup.connection_id]}).status_code == 200
    assert setup.put("/ranks/customer", {"order": []}).status_code == 422  # refused: no entry
    with setup.hub.database.session() as session:
        entries = audit.entries(session, target_type="connection")
        actions = [entry.action for entry in reversed(entries) if entry.target_id == str(setup.connection_id)]
        assert actions == ["create", "update_mapping", "update_list_mappings", "update_policy", "activate"]
        mapping_entry = next(entry for entry in entries if entry.action == "update_mapping")
        assert mapping_entry.detail_json["actor_type"] == "customer"
        assert mapping_entry.detail_json["fields"][0]["crm_field"] == "NAME"
        assert mapping_entry.user_id is not None
        (priority,) = audit.entries(session, target_type="sync_priority")
        assert priority.detail_json == {"connection_ids": [setup.connection_id]}


def test_only_administrators_configure_and_unknown_things_are_not_found(
    setup: Setup, hub: Hub, user: httpx.Client
) -> None:
    paths = ["/mappings/customer", "/list-mappings", "/defaults/customer", "/ranks/customer", "/policy"]
    for path in paths:
        assert user.get(setup.base + path).status_code == 403
        assert user.put(setup.base + path, json={}).status_code == 403
    assert user.post(f"{setup.base}/activate").status_code == 403
    assert user.post(f"{setup.base}/deactivate").status_code == 403
    assert user.get("/sync-priority").status_code == 403
    assert user.put("/sync-priority", json={"connection_ids": []}).status_code == 403

    assert setup.admin.get("/connections/999/mappings/customer").status_code == 404
    assert setup.admin.get(f"{setup.base}/mappings/customers").status_code == 404
    assert setup.admin.get(f"{setup.base}/ranks/nope").status_code == 404
    assert setup.admin.delete(setup.base).status_code == 204
    assert setup.admin.get(f"{setup.base}/mappings/customer").status_code == 404
    assert setup.admin.post(f"{setup.base}/activate").status_code == 404
