"""``/companies``, ``/persons``, ``/projects`` and ``/lists/{name}`` over HTTP."""

from __future__ import annotations

import httpx

from .conftest import Hub


def test_company_lifecycle(user: httpx.Client) -> None:
    created = user.post("/companies", json={"name": "Acme", "vat_number": "DK123"})
    assert created.status_code == 201
    company = created.json()
    assert (company["name"], company["vat_number"], company["changed_by"]) == ("Acme", "DK123", "user:1")
    changed = user.patch(f"/companies/{company['id']}", json={"phone": "+45 1"}).json()
    assert changed["phone"] == "+45 1"
    assert changed["change_seq"] > company["change_seq"]
    assert user.get(f"/companies/{company['id']}").json() == changed
    assert user.delete(f"/companies/{company['id']}").status_code == 204
    assert user.get(f"/companies/{company['id']}").json() == {"detail": f"no company with id {company['id']}"}
    assert user.patch(f"/companies/{company['id']}", json={"phone": "1"}).status_code == 404


def test_paging_and_search(user: httpx.Client) -> None:
    for name in ("Acme", "Globex", "acme nordic"):
        user.post("/companies", json={"name": name})
    page = user.get("/companies", params={"limit": 2, "offset": 1}).json()
    assert ([c["name"] for c in page["items"]], page["total"], page["limit"], page["offset"]) == (
        ["Globex", "acme nordic"],
        3,
        2,
        1,
    )
    found = user.get("/companies", params={"q": "ACME"}).json()
    assert [c["name"] for c in found["items"]] == ["Acme", "acme nordic"]
    assert user.get("/companies", params={"limit": 501}).status_code == 422
    assert user.get("/companies", params={"offset": -1}).status_code == 422


def test_validation_errors_name_the_field(user: httpx.Client) -> None:
    cases = [
        ({"name": "A", "number1": "9" * 65}, "number1"),
        ({"name": "A", "country_id": 999}, "country_id"),
        ({"vat_number": "DK1"}, "name"),
        ({"name": "A", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = user.post("/companies", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"] == ["body", field]
    assert user.get("/companies").json()["total"] == 0
    blank = user.post("/companies", json={"name": "A"}).json()
    assert user.patch(f"/companies/{blank['id']}", json={"name": None}).json()["detail"][0]["loc"] == ["body", "name"]


def test_persons_and_projects(user: httpx.Client) -> None:
    company = user.post("/companies", json={"name": "Acme"}).json()
    person = user.post("/persons", json={"first_name": "Ann", "company_id": company["id"], "birth_date": "1990-12-31"})
    assert person.status_code == 201
    assert (person.json()["company_id"], person.json()["birth_date"]) == (company["id"], "1990-12-31")
    assert user.get("/persons", params={"q": "ann"}).json()["total"] == 1
    bad_date = user.post("/persons", json={"birth_date": "31.12.1990"})
    assert bad_date.json()["detail"][0]["loc"] == ["body", "birth_date"]
    bad_company = user.post("/persons", json={"last_name": "Lee", "company_id": 999})
    assert bad_company.json()["detail"][0]["loc"] == ["body", "company_id"]
    project = user.post("/projects", json={"name": "Build", "end_date": "2030-01-01"}).json()
    assert user.get(f"/projects/{project['id']}").json()["end_date"] == "2030-01-01"
    assert user.delete(f"/persons/{person.json()['id']}").status_code == 204


def test_lists_are_read_by_users_and_edited_by_admins(hub: Hub, admin: httpx.Client, user: httpx.Client) -> None:
    created = admin.post("/lists/project_status", json={"label": "Open"})
    assert created.status_code == 201
    item = created.json()
    assert user.get("/lists/project_status").json() == [item]
    assert user.post("/lists/project_status", json={"label": "Closed"}).status_code == 403
    project = user.post("/projects", json={"name": "Build", "status_id": item["id"]})
    assert project.status_code == 201
    renamed = admin.patch(f"/lists/project_status/{item['id']}", json={"label": "Running", "deleted": True}).json()
    assert (renamed["id"], renamed["label"], renamed["deleted"]) == (item["id"], "Running", True)
    assert user.get("/lists/project_status").json() == []
    assert user.get("/lists/project_status", params={"include_deleted": True}).json() == [renamed]
    assert user.get("/lists/colours").status_code == 404
    assert admin.post("/lists/country", json={"label": ""}).status_code == 422
    assert admin.patch(f"/lists/country/{item['id']}", json={"label": "x"}).status_code == 404


def test_records_are_active_until_deactivated_and_searches_leave_inactive_ones_out_unless_asked(
    user: httpx.Client,
) -> None:
    acme = user.post("/companies", json={"name": "Acme"}).json()
    assert acme["active"] is True
    old = user.post("/companies", json={"name": "Acme Old", "active": False}).json()
    assert old["active"] is False
    assert [c["name"] for c in user.get("/companies", params={"q": "acme"}).json()["items"]] == ["Acme"]
    every = user.get("/companies", params={"q": "acme", "include_inactive": True}).json()
    assert ([c["name"] for c in every["items"]], every["total"]) == (["Acme", "Acme Old"], 2)
    assert user.get("/companies").json()["total"] == 1
    refused = user.patch(f"/companies/{acme['id']}", json={"active": None})
    assert (refused.status_code, refused.json()["detail"][0]["loc"]) == (422, ["body", "active"])
    assert user.patch(f"/companies/{acme['id']}", json={"active": "maybe"}).status_code == 422
    assert user.get(f"/companies/{acme['id']}").json() == acme  # nothing changed
    changed = user.patch(f"/companies/{old['id']}", json={"active": True}).json()
    assert (changed["active"], changed["change_seq"] > old["change_seq"]) == (True, True)
    for segment, body in (("persons", {"first_name": "Ann"}), ("projects", {"name": "Roof"})):
        record = user.post(f"/{segment}", json={**body, "active": False}).json()
        assert record["active"] is False
        assert user.get(f"/{segment}").json()["total"] == 0
        assert [r["id"] for r in user.get(f"/{segment}?include_inactive=true").json()["items"]] == [record["id"]]
