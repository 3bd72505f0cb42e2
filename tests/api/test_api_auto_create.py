"""Automatic creation over real HTTP with the sample connector: the setting read, previewed (nothing written) and
saved; the next sync creates, links and sends to review as the preview said; the review list and its actions; a bad
setting refused; access for administrators only."""

from __future__ import annotations

import httpx

from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY

from .conftest import Synced, ok

ON = {"direction": "erp_to_crm", "match": ["email"]}


def _customer(synced: Synced, name: str, email: str) -> str:
    return synced.sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord(values={"name": name, "email": email}))


def test_auto_create_is_previewed_saved_and_run_and_its_review_items_decided(synced: Synced) -> None:
    url = f"{synced.base}/auto-create/customer"
    assert ok(synced.admin.get(url)) == {"direction": "off", "match": []}
    ok(synced.sync())
    twins = [
        ok(synced.admin.post("/companies", json={"name": n, "email": "twin@example.com"}), 201)["id"] for n in "AB"
    ]
    _customer(synced, "Twin", "twin@example.com")
    new_key = _customer(synced, "Newco", "new@example.com")
    shown = ok(synced.admin.post(f"{url}/preview", json=ON))
    assert shown["erp_to_crm"] | {"stop_reasons": {}} == {
        "created": 1,
        "linked": 0,
        "review": 1,
        "stopped": 0,
        "decided": 0,
        "checked": 2,
        "bounded": False,
        "stop_reasons": {},
    }
    assert ok(synced.admin.get(url))["direction"] == "off"  # a preview saves nothing
    assert ok(synced.admin.put(url, json=ON)) == ON
    ok(synced.sync())
    found = ok(synced.admin.get("/companies", params={"q": "Newco"}))
    assert [row["name"] for row in found["items"]] == ["Newco"]
    [item] = ok(synced.admin.get(f"{synced.base}/auto-reviews"))
    assert (item["reason"], sorted(c["key"] for c in item["candidates"])) == ("several", sorted(map(str, twins)))
    linked = ok(synced.admin.post(f"{synced.base}/auto-reviews/{item['id']}/link", json={"candidate": str(twins[1])}))
    assert linked["status"] == "linked"
    assert ok(synced.admin.get(f"{synced.base}/auto-reviews")) == []
    again = synced.admin.post(f"{synced.base}/auto-reviews/{item['id']}/ignore")
    assert again.status_code == 409, again.text
    assert new_key


def test_a_bad_setting_is_refused_and_only_administrators_may_touch_it(synced: Synced, user: httpx.Client) -> None:
    url = f"{synced.base}/auto-create/customer"
    answer = synced.admin.put(url, json={"direction": "both", "match": ["shoe_size"]})
    assert answer.status_code == 422, answer.text
    assert synced.admin.put(url, json={"direction": "sideways"}).status_code == 422
    assert ok(synced.admin.get(url))["direction"] == "off"
    assert synced.admin.get(f"{synced.base}/auto-create/nothing").status_code == 404
    assert user.get(url).status_code == 403
    assert user.put(url, json=ON).status_code == 403
    assert user.post(f"{url}/preview", json=ON).status_code == 403
    assert user.get(f"{synced.base}/auto-reviews").status_code == 403
    assert user.post(f"{synced.base}/auto-reviews/1/ignore").status_code == 403
