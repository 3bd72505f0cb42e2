"""The ERP tab's advanced search in a real browser: after a search the criteria come back as asked, so the next
search runs the same query (an operator such as *at least* listed for several field types came back as another)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.crypto import cipher_for
from erpsync.protocol import models as m
from erpsync.testing.documents import link_company
from erpsync.testing.sample import COMPANY

from .conftest import Hub, screenshot

CHOSEN = "document.querySelector(\"#dialog-host select[name='operator.0']\").selectedOptions[0]"


def _chosen(page: Page) -> tuple[str, str, bool]:
    value, types, disabled = page.evaluate(f"[{CHOSEN}.value, {CHOSEN}.dataset.types, {CHOSEN}.disabled]")
    return str(value), str(types), bool(disabled)


def test_an_advanced_search_keeps_its_operator_for_the_next_search(page: Page, hub: Hub) -> None:
    sample = hub.sample
    for name, employees in (("Small ApS", 5), ("Large A/S", 500)):
        sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord({"name": name, "employees": employees}))
    link_company(  # a connection mapping customers, Acme linked
        hub.database,
        cipher_for(hub.settings),
        url=sample.url,
        secret=sample.secret,
        config=sample.config,
        erp_key=sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord({"name": "Acme A/S"})),
    )
    with hub.database.session() as session:
        beta = service.create_entity(session, EntityType.COMPANY, {"name": "Beta ApS"}, changed_by="test").id
    hub.sign_in(page, "carla")
    page.goto(f"{hub.url}/companies/{beta}/erp")
    page.locator("main a:has(.i-link)").first.click()  # Connect: the search dialog, searched with the name
    dialog = page.locator("#dialog-host dialog[open]")
    expect(dialog.locator("details.advanced summary")).to_be_visible()
    dialog.locator("details.advanced summary").click()
    dialog.locator("select[name='field.0']").select_option("employees")
    at_least = dialog.locator("select[name='operator.0'] option[value='>=']:not([disabled])")
    expect(at_least).to_have_count(1)
    dialog.locator("select[name='operator.0']").select_option(index=at_least.evaluate("o => o.index"))
    dialog.locator("input[name='value.0']").fill("100")
    dialog.locator("details.advanced button[type=submit]").click()
    expect(dialog.get_by_role("cell", name="Large A/S", exact=True)).to_be_visible()
    expect(dialog.get_by_role("cell", name="Small ApS", exact=True)).to_have_count(0)
    assert _chosen(page) == (">=", "integer", False), "the operator comes back as asked"
    expect(dialog.locator("select[name='field.0']")).to_have_value("employees")
    expect(dialog.locator("input[name='value.0']")).to_have_value("100")
    screenshot(page, "en-erp-advanced-search")
    dialog.locator("details.advanced button[type=submit]").click()  # the same search again
    expect(dialog.get_by_role("cell", name="Large A/S", exact=True)).to_be_visible()
    expect(dialog.get_by_role("cell", name="Small ApS", exact=True)).to_have_count(0)
    assert _chosen(page) == (">=", "integer", False)
