"""``/users`` and ``/groups``: administrators manage them; weak passwords are refused; hashes and passwords never leave
the hub."""

from __future__ import annotations

import httpx

from erpsync import audit

from .conftest import PASSWORD, Hub


def test_user_lifecycle(hub: Hub, admin: httpx.Client) -> None:
    created = admin.post("/users", json={"login": "bob", "password": "bobs password", "licences": ["erp"]})
    assert created.status_code == 201
    bob = created.json()
    assert (bob["login"], bob["licences"], bob["is_admin"]) == ("bob", ["erp"], False)
    assert "password" not in created.text
    assert admin.get(f"/users/{bob['id']}").json() == bob
    assert [u["login"] for u in admin.get("/users").json()] == ["admin", "bob"]
    changed = admin.patch(f"/users/{bob['id']}", json={"name": "Bob", "is_admin": True}).json()
    assert (changed["name"], changed["is_admin"]) == ("Bob", True)
    with hub.sign_in("bob", "bobs password") as bob_client:
        assert bob_client.get("/users").status_code == 200  # now an administrator
    assert admin.delete(f"/users/{bob['id']}").status_code == 204
    assert admin.get(f"/users/{bob['id']}").status_code == 404


def test_password_change_takes_effect(hub: Hub, admin: httpx.Client) -> None:
    user_id = hub.add_user("carl")
    assert admin.patch(f"/users/{user_id}", json={"password": "a new password"}).status_code == 200
    with hub.client() as anon:
        old = anon.post("/auth/token", data={"username": "carl", "password": PASSWORD})
        new = anon.post("/auth/token", data={"username": "carl", "password": "a new password"})
    assert (old.status_code, new.status_code) == (401, 200)


def test_bad_user_requests(hub: Hub, admin: httpx.Client) -> None:
    short = admin.post("/users", json={"login": "dan", "password": "tiny"})
    assert short.status_code == 422
    assert short.json()["detail"][0]["loc"] == ["body", "password"]
    assert "tiny" not in short.text  # bad values are not echoed: they may be passwords
    assert admin.post("/users", json={"login": "admin", "password": PASSWORD}).status_code == 409
    assert admin.post("/users", json={"login": "dan", "password": PASSWORD, "licences": ["x"]}).status_code == 422
    assert admin.post("/users", json={"login": "dan", "password": PASSWORD, "role": "root"}).status_code == 422
    assert admin.get("/users/999").json() == {"detail": "no user with id 999"}
    me = admin.get("/me").json()["id"]
    assert admin.patch(f"/users/{me}", json={"is_admin": False}).status_code == 409
    assert admin.delete(f"/users/{me}").status_code == 409


def test_changes_are_audited_without_passwords(hub: Hub, admin: httpx.Client) -> None:
    admin.post("/users", json={"login": "eve", "password": "eves password"})
    admin_id = admin.get("/me").json()["id"]
    with hub.database.session() as session:
        (entry,) = audit.entries(session, target_type="user")
        assert (entry.action, entry.user_id) == ("create", admin_id)
        assert entry.detail_json["login"] == "eve"
        assert "eves password" not in str(entry.detail_json)


def test_group_lifecycle(hub: Hub, admin: httpx.Client) -> None:
    ann, bob = hub.add_user("ann"), hub.add_user("bob")
    created = admin.post("/groups", json={"name": "Sales", "members": [ann]})
    assert created.status_code == 201
    group = created.json()
    assert group["members"] == [ann]
    changed = admin.patch(f"/groups/{group['id']}", json={"members": [ann, bob], "description": "EU"}).json()
    assert (changed["members"], changed["description"], changed["name"]) == ([ann, bob], "EU", "Sales")
    assert admin.get("/groups").json() == [changed]
    assert admin.post("/groups", json={"name": "Sales"}).status_code == 409
    unknown = admin.post("/groups", json={"name": "Ops", "members": [999]})
    assert unknown.status_code == 422
    assert "999" in unknown.json()["detail"]
    assert admin.delete(f"/groups/{group['id']}").status_code == 204
    assert admin.get(f"/groups/{group['id']}").status_code == 404


def test_weak_passwords_are_refused_and_change_nothing(hub: Hub, admin: httpx.Client) -> None:
    user_id = hub.add_user("carl")
    for password in ("12345678", " " * 12, "qwerty123456", "password1234"):
        created = admin.post("/users", json={"login": "dan", "password": password})
        assert created.status_code == 422, password
        assert password not in created.text
        assert admin.patch(f"/users/{user_id}", json={"password": password}).status_code == 422
    assert [u["login"] for u in admin.get("/users").json()] == ["admin", "carl"]
    with hub.sign_in("carl"):  # the old password still works
        pass
