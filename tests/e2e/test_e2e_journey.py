"""The whole journey from an empty hub (an administrator and the CRM's lists, nothing else), in a real browser, in
English and in Danish, through the pages only: the administrator adds a licensed user, a user without the licence
and a group; registers the Sync Connector, adds a connection visible to the group, tests and saves it; maps customer,
person and project fields and the country and project status lists; leaves the defaults untouched; ranks a field;
opens the sync priority; activates; imports the ERP's customers. The licensed user then links a company, a person and
a project, edits the company, syncs now and the ERP holds the change; the user without the licence sees no ERP tab and
is told why on a direct address.

Every step leaves a screenshot at desktop and phone widths in test-artifacts/journey/, and no page scrolls sideways at
the phone's 390 px; in Danish, a page showing one of the hub's own English words fails the test, and the sample
connector's texts (ERP field names, list items) come in Danish through the protocol's language.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.fields import KIND_OF, ORGANISATION
from erpsync.connectors.sample.language import DANISH
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.protocol import models as m
from erpsync.storage.tables import Company, ErpConnection, ErpLink
from erpsync.testing.sample import COMPANY
from erpsync.web.i18n import Translator

from .conftest import PASSWORD, WIDTHS, Hub

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "journey"
IMPORTED = ("Alfa ApS", "Beta A/S")
LINKED = "Nordlys A/S"
# Words of the hub's own English UI: none may show on a Danish page.
ENGLISH_UI_WORDS = (
    "Save",
    "Saved",
    "Cancel",
    "Delete",
    "Settings",
    "Sign out",
    "Mappings",
    "List mapping",
    "Defaults",
    "Rank fields",
    "Conflict policy",
    "Users",
    "Groups",
    "Add user",
    "Add group",
    "Reset password",
    "Sync now",
    "Not linked",
    "Connect to",
    "Companies",
    "Persons",
    "Projects",
    "Licence",
    "licence",
    "hit(s)",
    "Next page",
    "Import from ERP",
    "Run import",
    "Undo import",
    "Members",
    "Visibility",
    "Everyone",
    # the sample connector's texts, asked for in Danish, and the service's reasons, worded by the pages
    "Payment terms",
    "Customer group",
    "Credit limit",
    "In progress",
    "Mobile phone",
    "matched by",
    "match by",
    "does not apply",
)


SIDEWAYS = """() => document.documentElement.scrollWidth <= window.innerWidth ? [] :
  [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(-5).map(e => `${e.tagName.toLowerCase()}.${e.className}`)"""
"""Nothing when the page fits the window's width; else the elements that stick out (the innermost last)."""


class Journey:
    """One language's walk: its texts from the UI's own catalog, its screenshots, the Danish word check."""

    def __init__(self, page: Page, hub: Hub, language: str) -> None:
        self.page, self.hub, self.language = page, hub, language
        self.t = Translator(language)
        self.step = 0

    def erp(self, english: str) -> str:
        """A text of the sample connector as it answers in the journey's language."""
        return DANISH.get(english, english) if self.language == "da" else english

    def shot(self, name: str) -> None:
        self.step += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_load_state()
        for label, (width, height) in WIDTHS.items():
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.screenshot(path=ARTIFACTS / f"{self.language}-{self.step:02}-{name}-{label}.png", full_page=True)
            sideways = self.page.evaluate(SIDEWAYS)
            assert not sideways, f"{name!r} ({self.page.url}) scrolls sideways at {width} px wide: {sideways}"
        self.page.set_viewport_size({"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]})
        if self.language == "da":
            text = self.page.locator("body").inner_text()
            found = [word for word in ENGLISH_UI_WORDS if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)]
            assert not found, f"English on the Danish page {name!r} ({self.page.url}): {found}"

    def sign_in(self, login: str) -> None:
        self.page.context.clear_cookies()
        self.page.goto(f"{self.hub.url}/login")
        self.page.locator(f".language-switch button[value={self.language}]").click()
        self.page.locator("#login-username").fill(login)
        self.page.locator("#login-password").fill(PASSWORD)
        self.page.locator("form[action='/login'] button[type=submit]").click()
        self.page.wait_for_url(f"{self.hub.url}/companies")

    def dialog(self) -> Locator:
        return self.page.locator("dialog[open]")

    def settings(self, tab: str = "sync.tab") -> None:
        self.page.get_by_role("link", name=self.t("settings.title")).click()
        self.page.get_by_role("navigation", name=self.t("settings.title")).get_by_role("link", name=self.t(tab)).click()

    def toast(self, key: str) -> None:
        expect(self.dialog()).to_have_count(0)  # a dialog's OK has been answered and the page reloaded
        expect(self.page.locator("p.notice[role=status]")).to_have_text(self.t(key))


def _seed(hub: Hub) -> None:
    """What the journey does not set up through pages: the CRM's lists, and the ERP's records."""
    with hub.database.session() as session:
        for label in ("Denmark", "Sweden"):
            crm_lists.add_item(session, CrmList.COUNTRY, label=label)
        for label in ("Planned", "Running"):
            crm_lists.add_item(session, CrmList.PROJECT_STATUS, label=label)
    for name in IMPORTED:
        hub.sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord(values={"name": name, "country": "DK"}))


def _erp_records_to_link(hub: Hub) -> str:
    """Added after the import: a customer with a person and a project, for the user to link."""
    erp = hub.sample.erp
    customer = erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord(values={"name": LINKED, "country": "DK"}))
    person = NewRecord(
        values={"first_name": "Ann", "last_name": "Berg"}, parent_key=customer, parent_type=m.ActorType.CUSTOMER
    )
    erp.create_actor(COMPANY, m.ActorType.PERSON, person)
    project = NewRecord(values={"name": "Nordlys web shop", "status": "PLANNED"})
    erp.create_actor(COMPANY, m.ActorType.PROJECT, project)
    return customer


def _connection_id(hub: Hub) -> int:
    with hub.database.read_session() as session:
        return session.scalars(select(ErpConnection.id)).one()


# --- the administrator ------------------------------------------------------------------------------------------------


def _users_and_group(j: Journey) -> None:
    t, page = j.t, j.page
    j.settings("users.tab")
    j.shot("users")
    for login, licensed in (("lena", True), ("ulf", False)):
        page.get_by_role("link", name=t("users.add")).click()
        dialog = j.dialog()
        dialog.locator("#user-login").fill(login)
        dialog.locator("#user-name").fill(login.title())
        dialog.locator("#user-password").fill(PASSWORD)
        dialog.locator("#user-password-again").fill(PASSWORD)
        if licensed:
            dialog.get_by_label(t("users.licence_erp")).check()
        j.shot(f"user-{login}")
        dialog.get_by_role("button", name=t("action.ok")).click()
        j.toast("form.saved")
    j.shot("users-added")
    j.settings("groups.tab")
    page.get_by_role("link", name=t("groups.add")).click()
    dialog = j.dialog()
    dialog.locator("#group-name").fill("Sales")
    dialog.get_by_label("Lena").check()
    j.shot("group")
    dialog.get_by_role("button", name=t("action.ok")).click()
    j.toast("form.saved")
    expect(page.locator('tr[data-group="Sales"]')).to_contain_text("lena")
    j.shot("groups")


def _connector_and_connection(j: Journey) -> None:
    t, page, sample = j.t, j.page, j.hub.sample
    j.settings()
    j.shot("sync-tab-empty")
    page.get_by_role("link", name=t("connector.add")).click()
    dialog = j.dialog()
    dialog.locator("#connector-name").fill("Sample ERP")
    dialog.locator("#connector-url").fill(sample.url)
    dialog.locator("#connector-secret").fill(sample.secret)
    j.shot("connector")
    dialog.get_by_role("button", name=t("action.ok")).click()
    j.toast("toast.connector")
    page.get_by_role("toolbar").get_by_role("button", name=t("action.add"), exact=True).click()
    dialog = j.dialog()
    dialog.locator("#connection-name").fill("Main")
    dialog.locator('input[name="visibility"][value="specified"]').check()
    dialog.locator("fieldset fieldset").nth(1).get_by_label("Sales").check()
    dialog.locator("#config-company").select_option(str(sample.config["company"]))
    dialog.locator("#config-user").fill(str(sample.config["user"]))
    dialog.locator("#config-password").fill(str(sample.config["password"]))
    ok = dialog.locator("[data-ok-button]")
    expect(ok).to_be_disabled()  # OK only after a passed test
    dialog.locator("[data-test-button]").click()
    expect(dialog.locator("[data-test-passed=true]")).to_be_visible()
    expect(ok).to_be_enabled()
    j.shot("connection-tested")
    ok.click()
    j.toast("toast.connection")
    j.shot("connection-saved")


def _map(j: Journey, base: str, actor_type: str, rows: dict[str, str]) -> None:
    """Switch the actor type on and pair each ERP field of ``rows`` with its CRM field, both ways, shown."""
    page = j.page
    page.goto(f"{base}/mappings?actor_type={actor_type}")
    labels = [j.erp(KIND_OF[m.ActorType(actor_type)].field(key).label) for key in rows]
    for label in labels:  # the ERP's field names in the page's language
        expect(page.locator("main table")).to_contain_text(label)
    page.locator("#mapping-active").check()
    for erp_field, crm_field in rows.items():
        page.locator(f'select[name="crm_field.{erp_field}"]').select_option(crm_field)
        page.locator(f'label.direction:has(input[name="direction.{erp_field}"][value="both"])').click()
        page.locator(f'input[name="show_in_tab.{erp_field}"]').check()
        page.locator(f'input[name="show_in_search.{erp_field}"]').check()
    j.shot(f"mappings-{actor_type}")
    page.get_by_role("button", name=j.t("action.save"), exact=True).click()
    j.toast("form.saved")


def _configure(j: Journey) -> None:
    t, page = j.t, j.page
    page.get_by_role("rowheader", name="Main").click()
    page.get_by_role("toolbar").get_by_role("button", name=t("connection.mappings")).click()
    base = f"{j.hub.url}/settings/sync/connections/{_connection_id(j.hub)}"
    _map(j, base, "customer", {"name": "NAME", "email": "EMAIL", "country": "COUNTRY"})
    _map(j, base, "person", {"first_name": "FIRSTNAME", "last_name": "LASTNAME", "email": "EMAIL"})
    _map(j, base, "project", {"name": "NAME", "status": "STATUS"})

    page.get_by_role("navigation", name=t("screen.nav")).get_by_role("link", name=t("screen.list_mapping")).click()
    country = page.locator('fieldset[data-list="country"]')
    country.get_by_label(j.erp("Denmark"), exact=True).select_option(label="Denmark")
    country.get_by_label(j.erp("Sweden"), exact=True).select_option(label="Sweden")
    status = page.locator('fieldset[data-list="project_status"]')
    expect(status.locator("select[data-crm-list]")).to_have_value("project_status")  # offered before it is saved
    status.get_by_label(j.erp("Planned"), exact=True).select_option(label="Planned")
    status.get_by_label(j.erp("In progress"), exact=True).select_option(label="Running")
    j.shot("list-mapping")
    page.get_by_role("button", name=t("action.save"), exact=True).click()
    j.toast("form.saved")

    screens = page.get_by_role("navigation", name=t("screen.nav"))
    screens.get_by_role("link", name=t("screen.defaults")).click()
    j.shot("defaults-untouched")
    screens.get_by_role("link", name=t("screen.ranks")).click()
    page.locator('button[name="move"][value^="up:"]:not([disabled])').first.click()
    j.shot("ranks")
    page.get_by_role("navigation", name=t("screen.nav")).get_by_role("link", name=t("screen.policy")).click()
    j.shot("policy")
    j.settings()
    page.get_by_role("button", name=t("connection.sync_priority")).click()
    j.shot("sync-priority")
    j.settings()
    with page.expect_navigation():
        page.get_by_role("checkbox", name="Main").check()
    j.toast("toast.active")
    j.shot("active")


def _import(j: Journey) -> None:
    t, page = j.t, j.page
    page.get_by_role("rowheader", name="Main").click()
    page.get_by_role("toolbar").get_by_role("button", name=t("connection.import")).click()
    page.get_by_role("button", name=t("import.next")).click()
    page.locator("#import-scope-all").check()
    j.shot("import-criteria")
    page.get_by_role("button", name=t("import.search")).click()
    for name in IMPORTED:
        expect(page.get_by_role("checkbox", name=name)).to_be_checked()
    page.get_by_role("button", name=t("import.to_preview")).click()
    expect(page.locator("tr[data-verb=create]")).to_have_count(len(IMPORTED))
    j.shot("import-preview")
    page.get_by_role("button", name=t("import.run")).click()
    expect(page.locator("[data-percentage]")).to_have_text("100 %", timeout=30_000)
    for name in IMPORTED:
        expect(page.locator("[data-result-list=created]").get_by_role("link", name=name)).to_be_visible()
    j.shot("import-done")


# --- the users --------------------------------------------------------------------------------------------------------


def _create(j: Journey, collection: str, values: dict[str, str]) -> None:
    page = j.page
    page.goto(f"{j.hub.url}/{collection}/new")
    for attr, value in values.items():
        field = page.locator(f"#field-{attr}")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    page.get_by_role("button", name=j.t("action.save"), exact=True).click()
    expect(page.get_by_role("heading", name=values.get("name") or values["last_name"], exact=False)).to_be_visible()


def _link(j: Journey, actor_type: str, hit: str) -> None:
    t, page = j.t, j.page
    page.get_by_role("link", name="ERP", exact=True).click()
    page.get_by_role("link", name=t("erp.connect", actor=t(f"actor.{actor_type}"))).click()
    dialog = j.dialog()
    expect(dialog.get_by_role("cell", name=hit, exact=True)).to_be_visible()
    j.shot(f"search-{actor_type}")
    dialog.get_by_role("button", name=t("erp.pick")).first.click()
    link = dialog.get_by_role("button", name=t("erp.link"), exact=True)
    expect(link.or_(page.locator(".erp-section .link-state"))).to_be_visible()
    if link.is_visible():  # values differ: the user picks the winners
        for winner in dialog.locator('input[type=radio][value="crm"]').all():
            winner.check()
        j.shot(f"winners-{actor_type}")
        link.click()
    expect(page.locator(".erp-section")).to_contain_text(t("link.state.ok"))
    j.shot(f"linked-{actor_type}")


def _licensed_user_links_edits_and_syncs(j: Journey, customer: str) -> int:
    t, page = j.t, j.page
    j.sign_in("lena")
    _create(j, "companies", {"name": LINKED})
    company_url = page.url
    _link(j, "customer", LINKED)
    _create(j, "persons", {"first_name": "Ann", "last_name": "Berg", "company_id": LINKED})
    expect(page.locator("[data-company-link]")).to_have_text(LINKED)
    _link(j, "person", "Berg")
    _create(j, "projects", {"name": "Nordlys web shop"})
    _link(j, "project", "Nordlys web shop")

    page.goto(company_url)
    page.get_by_role("link", name=t("action.edit"), exact=True).click()
    page.locator("#field-name").fill("Nordlys Nordic A/S")
    page.get_by_role("button", name=t("action.save"), exact=True).click()
    page.get_by_role("link", name="ERP", exact=True).click()
    page.get_by_role("button", name=t("erp.sync_now")).click()
    expect(page.locator("[data-sync-result]")).to_be_visible()
    expect(page.locator('[data-erp-field="name"]')).to_contain_text("Nordlys Nordic A/S")
    j.shot("synced")
    erp = j.hub.sample.erp.fetch(COMPANY, m.ActorType.CUSTOMER, [customer], ORGANISATION.fields)
    assert erp[customer].fields["name"] == "Nordlys Nordic A/S", "the ERP holds the change"
    return int(company_url.rstrip("/").rsplit("/", 1)[1])


def _unlicensed_user(j: Journey, company_id: int) -> None:
    page = j.page
    j.sign_in("ulf")
    page.goto(f"{j.hub.url}/companies/{company_id}")
    expect(page.get_by_role("link", name="ERP", exact=True)).to_have_count(0)
    j.shot("no-erp-tab")
    answer = page.goto(f"{j.hub.url}/companies/{company_id}/erp")
    assert answer is not None
    assert answer.status == 403
    expect(page.locator("main")).to_contain_text(j.t("error.no_licence"))
    j.shot("licence-message")


@pytest.mark.parametrize("language", ["en", "da"])
def test_a_new_administrator_and_users_get_through_every_step(page: Page, hub: Hub, language: str) -> None:
    if language == "en":
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
    _seed(hub)
    journey = Journey(page, hub, language)
    journey.sign_in("admin")
    journey.shot("start")
    _users_and_group(journey)
    _connector_and_connection(journey)
    _configure(journey)
    _import(journey)
    customer = _erp_records_to_link(hub)
    company_id = _licensed_user_links_edits_and_syncs(journey, customer)
    _unlicensed_user(journey, company_id)
    with hub.database.read_session() as session:
        assert len(session.scalars(select(ErpLink)).all()) == len(IMPORTED) + 3
        assert session.scalar(select(Company.name).where(Company.id == company_id)) == "Nordlys Nordic A/S"
