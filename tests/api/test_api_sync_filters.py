"""An actor type's sync filter over real HTTP with the sample connector: preview, save, the engine stopping the record
with its reason on the ERP tab, syncing again back inside, a bad filter refused, access for administrators only."""

from __future__ import annotations

import httpx

from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY

from .conftest import Synced, ok

WHOLESALE_ONLY = {"erp": [{"field": "customer_group", "operator": "oneof", "values": ["WHOLESALE"]}]}


def _section(synced: Synced) -> dict[str, object]:
    [section] = ok(synced.admin.get(f"/companies/{synced.company_id}/erp"))["sections"]
    link: dict[str, object] = section["link"]
    return link


def test_a_filter_is_previewed_saved_and_stops_a_record_outside_it_until_it_is_back_inside(synced: Synced) -> None:
    url = f"{synced.base}/filters/customer"
    assert ok(synced.admin.get(url)) == {"erp": [], "crm": []}
    shown = ok(synced.admin.post(f"{url}/preview", json=WHOLESALE_ONLY))
    assert shown == {
        "links": 1,
        "checked": 1,
        "would_stop": 1,
        "would_resume": 0,
        "missing": 0,
        "bounded": False,
        "limit": 1000,
    }
    assert ok(synced.admin.get(url)) == {"erp": [], "crm": []}  # a preview saves nothing
    assert ok(synced.admin.put(url, json=WHOLESALE_ONLY))["erp"][0]["field"] == "customer_group"
    synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"email": "erp@acme.example"})
    assert ok(synced.sync())["status"] == "ok"
    link = _section(synced)
    assert link["state"] == "filtered"
    assert str(link["last_error"]).startswith("outside the sync filter (ERP: customer_group oneof WHOLESALE")
    assert synced.company()["email"] == "a@acme.example"
    health = ok(synced.admin.get(f"{synced.base}/health"))
    assert (health["in_sync"], health["filtered"]) == (0, 1)
    synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"customer_group": "WHOLESALE"})
    ok(synced.sync())
    assert _section(synced)["state"] == "ok"
    assert synced.company()["email"] == "erp@acme.example"


def test_a_bad_filter_is_refused_with_every_reason_and_nothing_changes(synced: Synced, user: httpx.Client) -> None:
    url = f"{synced.base}/filters/customer"
    bad = {
        "erp": [{"field": "employees", "operator": "contains", "values": ["1"]}],
        "crm": [{"field": "NOPE", "operator": "=", "values": ["x"]}],
    }
    answer = synced.admin.put(url, json=bad)
    assert answer.status_code == 422, answer.text
    assert [problem["loc"] for problem in answer.json()["detail"]] == [
        ["filter.erp.0", "employees"],
        ["filter.crm.0", "NOPE"],
    ]
    assert ok(synced.admin.get(url)) == {"erp": [], "crm": []}
    assert synced.admin.post(f"{url}/preview", json=bad).status_code == 422
    assert synced.admin.put(url, json={"erp": [{"field": "x", "operator": "like", "values": []}]}).status_code == 422
    assert synced.admin.get(f"{synced.base}/filters/nothing").status_code == 404
    assert user.get(url).status_code == 403
    assert user.put(url, json=WHOLESALE_ONLY).status_code == 403
