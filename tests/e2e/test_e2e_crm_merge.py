"""A CRM user merges two companies in a real browser: the dialog finds the other one, the values are picked, the result
says what moved."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from erpsync.crm import service
from erpsync.crm.fields import EntityType

from .conftest import Hub, screenshot


def _company(hub: Hub, **attrs: str) -> int:
    with hub.database.session() as session:
        return service.create_entity(session, EntityType.COMPANY, attrs, changed_by="user:1").id


def test_a_crm_user_merges_two_companies(page: Page, hub: Hub) -> None:
    acme = _company(hub, name="Acme", phone="+45 1")
    other = _company(hub, name="Acme Nordic", email="info@acme.example", phone="+45 2")
    hub.sign_in(page, "carla")
    page.goto(f"{hub.url}/companies/{acme}")
    page.get_by_role("link", name="Merge").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Find the other record by name").fill("nordic")
    dialog.get_by_role("button", name="Search").click()
    dialog.get_by_role("link", name="Acme Nordic").click()
    expect(dialog.get_by_text("Record to keep")).to_be_visible()
    expect(dialog.get_by_label("info@acme.example")).to_be_checked()  # a blank is filled from the other by default
    dialog.get_by_label("+45 2").check()
    screenshot(page, "en-company-merge")
    dialog.get_by_role("button", name="Merge").click()
    expect(dialog).to_contain_text("Merged into Acme")
    dialog.get_by_role("link", name="Open Acme").click()
    expect(page).to_have_url(f"{hub.url}/companies/{acme}")
    expect(page.get_by_text("+45 2")).to_be_visible()
    expect(page.get_by_text("info@acme.example")).to_be_visible()
    page.goto(f"{hub.url}/companies/{other}")
    expect(page.get_by_role("heading", name="Acme Nordic")).to_have_count(0)
