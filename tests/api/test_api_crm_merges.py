"""``POST /companies/{id}/merge`` and ``POST /persons/{id}/merge`` over HTTP: values chosen, persons and links moved,
bad input refused with nothing changed."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from erpsync.storage.tables import AuditEntry, ErpLink

from .conftest import Hub, Synced, ok


def test_merge_companies_moves_persons_and_keeps_the_chosen_values(user: httpx.Client) -> None:
    survivor = ok(user.post("/companies", json={"name": "Acme", "email": "a@acme.test"}), 201)
    other = ok(user.post("/companies", json={"name": "Acme Ltd", "email": "b@acme.test", "phone": "+45 1"}), 201)
    person = ok(user.post("/persons", json={"first_name": "Bo", "company_id": other["id"]}), 201)
    body = {"other_id": other["id"], "values": {"email": "other"}}
    report = ok(user.post(f"/companies/{survivor['id']}/merge", json=body))
    assert (report["taken_from_other"], report["persons_moved"]) == (["phone", "email"], [person["id"]])
    merged = ok(user.get(f"/companies/{survivor['id']}"))
    assert (merged["name"], merged["email"], merged["phone"]) == ("Acme", "b@acme.test", "+45 1")
    assert merged["change_seq"] > survivor["change_seq"]
    assert user.get(f"/companies/{other['id']}").status_code == 404
    assert ok(user.get(f"/persons/{person['id']}"))["company_id"] == survivor["id"]


def test_merge_persons_and_bad_input(user: httpx.Client) -> None:
    ann = ok(user.post("/persons", json={"first_name": "Ann"}), 201)
    anne = ok(user.post("/persons", json={"first_name": "Anne", "email": "ann@x.test"}), 201)
    assert user.post(f"/persons/{ann['id']}/merge", json={"other_id": ann["id"]}).status_code == 422
    refused = user.post(f"/persons/{ann['id']}/merge", json={"other_id": anne["id"], "values": {"colour": "other"}})
    assert refused.status_code == 422
    assert (
        user.post(f"/persons/{ann['id']}/merge", json={"other_id": anne["id"], "values": {"email": "x"}}).status_code
        == 422
    )
    assert user.post(f"/persons/{ann['id']}/merge", json={"other_id": 999_999}).status_code == 404
    assert ok(user.get(f"/persons/{anne['id']}"))["email"] == "ann@x.test"
    report = ok(user.post(f"/persons/{ann['id']}/merge", json={"other_id": anne["id"]}))
    assert report["taken_from_other"] == ["email"]
    assert ok(user.get(f"/persons/{ann['id']}"))["first_name"] == "Ann"


def test_a_linked_company_merged_away_moves_its_link(synced: Synced) -> None:
    survivor = ok(synced.admin.post("/companies", json={"name": "Acme Group"}), 201)
    body = {"other_id": synced.company_id}
    report = ok(synced.admin.post(f"/companies/{survivor['id']}/merge", json=body))
    assert [(m["link_id"], m["erp_key"]) for m in report["links_moved"]] == [(synced.link_id, synced.erp_key)]
    assert report["link_conflicts"] == []


def _state(hub: Hub, synced: Synced) -> tuple[object, ...]:
    """What a refused merge must leave as it was: the link, the companies, the audit log."""
    with hub.database.read_session() as session:
        link = session.get(ErpLink, synced.link_id)
        assert link is not None
        audits = session.scalar(select(func.count()).select_from(AuditEntry))
        return (link.entity_id, link.state, audits)


def test_merging_linked_records_needs_the_erp_licence_and_sight_of_every_connection(
    hub: Hub, synced: Synced, admin: httpx.Client
) -> None:
    insider = hub.add_user("insider", licences=("erp",))
    hub.add_user("outsider", licences=("erp",))
    hub.add_user("unlicensed")
    ok(
        admin.patch(
            f"/connections/{synced.connection_id}", json={"visibility": {"everyone": False, "users": [insider]}}
        )
    )
    survivor = ok(admin.post("/companies", json={"name": "Acme Group"}), 201)
    person = ok(admin.post("/persons", json={"first_name": "Bo", "company_id": synced.company_id}), 201)
    merge = f"/companies/{survivor['id']}/merge"
    before = _state(hub, synced)

    with hub.sign_in("unlicensed") as unlicensed:
        refused = unlicensed.post(merge, json={"other_id": synced.company_id})
        assert (refused.status_code, refused.json()["detail"]) == (
            403,
            "these records are linked to an ERP: merging them needs the ERP licence",
        )
        plain = ok(unlicensed.post("/companies", json={"name": "Plain"}), 201)  # unlinked records merge as before
        ok(unlicensed.post(f"/companies/{survivor['id']}/merge", json={"other_id": plain["id"]}))
    with hub.sign_in("outsider") as outsider:
        refused = outsider.post(merge, json={"other_id": synced.company_id})
        assert refused.status_code == 403
        assert "connections you cannot see" in refused.json()["detail"]
        assert "Main" not in refused.text  # the hidden connection is not named
    assert _state(hub, synced) == (synced.company_id, "ok", before[2] + 1)  # only the unlinked merge's audit entry
    assert ok(admin.get(f"/companies/{synced.company_id}"))["id"] == synced.company_id
    assert ok(admin.get(f"/persons/{person['id']}"))["company_id"] == synced.company_id

    with hub.sign_in("insider") as member:
        report = ok(member.post(merge, json={"other_id": synced.company_id}))
    assert [m["link_id"] for m in report["links_moved"]] == [synced.link_id]
    assert report["persons_moved"] == [person["id"]]
