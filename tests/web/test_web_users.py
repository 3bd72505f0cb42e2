"""Settings -> Users and Groups over real HTTP: an administrator adds, edits, deactivates users and resets their
passwords, manages groups and their members, with the rules of the API and the command line; in both languages."""

from __future__ import annotations

import re

import pytest

from erpsync import accounts, audit

from .conftest import PASSWORD, Browser, Site

NEW_PASSWORD = "another good passphrase"


@pytest.fixture
def admin(site: Site) -> Browser:
    site.add_user("admin", is_admin=True)
    return site.signed_in("admin")


def _user_id(site: Site, login: str) -> int:
    with site.database.session() as session:
        user = accounts.find_user(session, login)
        assert user is not None
        return user.id


def _signs_in(site: Site, login: str, password: str) -> bool:
    return site.browser().post("/login", {"username": login, "password": password}).status_code == 303


def test_an_administrator_adds_a_user_with_the_password_rules_of_the_api(admin: Browser, site: Site) -> None:
    form = {"login": "dora", "name": "Dora Dahl", "password": PASSWORD, "password_again": PASSWORD}
    weak = admin.post("/settings/users/new", {**form, "password": "password1234", "password_again": "password1234"})
    assert weak.status_code == 422
    assert "common" in weak.text
    assert 'value="dora"' in weak.text, "what was typed is kept"
    differs = admin.post("/settings/users/new", {**form, "password_again": "something else"})
    assert differs.status_code == 422
    assert "the two passwords differ" in differs.text
    added = admin.post("/settings/users/new", {**form, "licence_erp": "on"})
    assert added.status_code == 303
    assert added.headers["location"] == "/settings/users?saved=1"
    page = admin.get(added.headers["location"]).text
    assert 'role="status">Saved.' in page
    row = page.split('data-user="dora"')[1].split("</tr>")[0]
    assert re.findall(r"<td>([^<]*)</td>", row) == ["Dora Dahl", "CRM user", "Yes"]
    assert admin.post("/settings/users/new", form).status_code == 422, "a login is taken once"
    assert _signs_in(site, "dora", PASSWORD)
    with site.database.session() as session:
        entry = audit.entries(session, target_type="user")[0]  # the newest first
        assert (entry.action, entry.detail_json["login"]) == ("create", "dora")
        assert PASSWORD not in str(entry.detail_json)


def test_editing_deactivating_and_resetting_a_password(admin: Browser, site: Site) -> None:
    site.add_user("erik")
    erik = _user_id(site, "erik")
    edited = admin.post(f"/settings/users/{erik}/edit", {"name": "Erik E", "is_admin": "on", "licence_erp": "on"})
    assert edited.status_code == 303
    with site.database.session() as session:
        user = accounts.get_user(session, erik)
        assert (user.name, user.is_admin, user.licences, user.active) == ("Erik E", True, "erp", False)
    assert not _signs_in(site, "erik", PASSWORD), "a deactivated user cannot sign in"
    page = admin.get("/settings/users").text.split('data-user="erik"')[1].split("</tr>")[0]
    assert "Deactivated" in page
    assert admin.post(f"/settings/users/{erik}/edit", {"name": "Erik E", "active": "on"}).status_code == 303
    short = admin.post(f"/settings/users/{erik}/password", {"password": "short", "password_again": "short"})
    assert short.status_code == 422
    assert "at least 12 characters" in short.text
    reset = admin.post(f"/settings/users/{erik}/password", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert reset.status_code == 303
    assert not _signs_in(site, "erik", PASSWORD)
    assert _signs_in(site, "erik", NEW_PASSWORD)


def test_an_administrator_cannot_demote_or_deactivate_themselves(admin: Browser, site: Site) -> None:
    me = _user_id(site, "admin")
    refused = admin.post(f"/settings/users/{me}/edit", {"name": "Me", "active": "on"})
    assert refused.status_code == 422
    assert "you cannot remove your own administrator role or deactivate yourself" in refused.text
    with site.database.session() as session:
        assert accounts.get_user(session, me).is_admin is True
    assert admin.get("/settings/users/999/edit").status_code == 404


def test_groups_and_their_members(admin: Browser, site: Site) -> None:
    site.add_user("frida")
    site.add_user("gustav")
    frida, gustav = _user_id(site, "frida"), _user_id(site, "gustav")
    assert "No groups yet" in admin.get("/settings/groups").text
    added = admin.post("/settings/groups/new", {"name": "Sales", "description": "North", "member": [str(frida)]})
    assert added.status_code == 303
    assert admin.post("/settings/groups/new", {"name": "Sales"}).status_code == 422, "a name is taken once"
    assert admin.post("/settings/groups/new", {"name": "X", "member": ["999"]}).status_code == 422
    with site.database.session() as session:
        (group,) = accounts.list_groups(session)
        group_id = group.id
        assert [user.login for user in group.members] == ["frida"]
    dialog = admin.get(f"/settings/groups/{group_id}/edit").text
    assert re.search(rf'name="member" value="{frida}" checked', dialog)
    assert re.search(rf'name="member" value="{gustav}">', dialog)
    edited = admin.post(f"/settings/groups/{group_id}/edit", {"name": "Sales DK", "member": [str(frida), str(gustav)]})
    assert edited.status_code == 303
    row = admin.get("/settings/groups").text.split('data-group="Sales DK"')[1].split("</tr>")[0]
    assert "frida, gustav" in row
    assert "Delete Sales DK?" in admin.get(f"/settings/groups/{group_id}/delete").text
    assert admin.post(f"/settings/groups/{group_id}/delete").status_code == 303
    with site.database.session() as session:
        assert accounts.list_groups(session) == []
        assert [entry.action for entry in audit.entries(session, target_type="group")] == [
            "delete",
            "update",
            "create",
        ]


def test_users_and_groups_pages_in_danish_and_for_administrators_only(admin: Browser, site: Site) -> None:
    site.add_user("hans", licences=("erp",))
    hans = site.signed_in("hans")
    for path in ("/settings/users", "/settings/groups", "/settings/users/new", "/settings/groups/new"):
        assert hans.get(path).status_code == 403
    assert admin.post("/language", {"language": "da", "next": "/settings/users"}).status_code == 303
    page = admin.get("/settings/users").text
    assert all(text in page for text in ("Tilføj bruger", "Nulstil adgangskode", "Brugere")), page
    assert "Add user" not in page
    assert "Tilføj gruppe" in admin.get("/settings/groups").text
    assert '<a href="/settings/users">Brugere</a>' in admin.get("/settings/sync").text


def test_refusals_on_the_users_pages_read_in_danish(admin: Browser, site: Site) -> None:
    admin.post("/language", {"language": "da", "next": "/settings/users"})
    short = admin.post("/settings/users/new", {"login": "ida", "password": "kort", "password_again": "kort"})
    assert short.status_code == 422
    assert "adgangskoden skal have mindst 12 tegn" in short.text
    differs = admin.post("/settings/users/new", {"login": "ida", "password": PASSWORD, "password_again": "x"})
    assert "de to adgangskoder er forskellige" in differs.text
    taken = admin.post("/settings/users/new", {"login": "admin", "password": PASSWORD, "password_again": PASSWORD})
    assert "der findes allerede en bruger med brugernavnet &#39;admin&#39;" in taken.text
    me = _user_id(site, "admin")
    refused = admin.post(f"/settings/users/{me}/edit", {"name": "Me", "active": "on"})
    assert "du kan ikke fjerne din egen administratorrolle eller deaktivere dig selv" in refused.text
