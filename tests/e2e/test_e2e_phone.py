"""Every screen at a phone's width, in English and in Danish: each page a CRM user with the ERP licence or an
administrator opens (dialogs opened as pages included) answers, does not scroll sideways at 390 px and, in Danish,
shows none of the known English UI words; a screenshot of each is left in test-artifacts/ at both widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from erpsync import accounts
from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.crypto import cipher_for
from erpsync.protocol import models as m
from erpsync.storage.tables import SyncConnector, User
from erpsync.sync.connections import hub_clients
from erpsync.sync.imports import start_import
from erpsync.sync.work import Engine
from erpsync.testing.documents import link_company
from erpsync.testing.sample import COMPANY

from .conftest import WIDTHS, Hub, screenshot
from .test_e2e_journey import ENGLISH_UI_WORDS, SIDEWAYS

# A connector in use answers its delete dialog with the reason it cannot be deleted (409), and nothing to confirm.
EXPECTED = {"delete": (200, 409)}
CRM_SCREENS = ("", "/edit", "/delete", "/history", "/erp")
ERP_SCREENS = ("/search?actor_type={actor}", "/create?actor_type={actor}", "/documents", "/disconnect")
SETTINGS_SCREENS = (
    "/settings/sync",
    "/settings/sync/alerts",
    "/settings/sync/priority",
    "/settings/sync/connectors/new",
    "/settings/sync/connectors/{connector}/edit",
    "/settings/sync/connectors/{connector}/delete",
    "/settings/sync/connections/new",
    "/settings/sync/connections/{connection}/edit",
    "/settings/sync/connections/{connection}/delete",
    "/settings/sync/connections/{connection}/health",
    "/settings/sync/connections/{connection}/mappings?actor_type=customer",
    "/settings/sync/connections/{connection}/list-mapping",
    "/settings/sync/connections/{connection}/defaults?actor_type=customer",
    "/settings/sync/connections/{connection}/ranks?actor_type=customer",
    "/settings/sync/connections/{connection}/policy",
    "/settings/sync/connections/{connection}/filters?actor_type=customer",
    "/settings/sync/connections/{connection}/alerts",
    "/settings/sync/connections/{connection}/import",
    "/settings/sync/connections/{connection}/resync",
    "/settings/sync/connections/{connection}/jobs/{job}",
    "/settings/users",
    "/settings/users/new",
    "/settings/users/{user}/edit",
    "/settings/users/{user}/password",
    "/settings/groups",
    "/settings/groups/new",
    "/settings/groups/{group}/edit",
    "/settings/groups/{group}/delete",
    "/settings/audit",
)


def _world(hub: Hub) -> tuple[list[str], list[str]]:
    """Acme linked, with a person and a project; a queued import and a group: the screens a CRM user with the ERP
    licence opens, and those an administrator opens."""
    sample = hub.sample
    erp_key = sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord({"name": "Acme A/S"}))
    cipher = cipher_for(hub.settings)
    config = sample.config
    linked = link_company(hub.database, cipher, url=sample.url, secret=sample.secret, config=config, erp_key=erp_key)
    with hub.database.session() as session:
        person = {"first_name": "Ann", "last_name": "Berg", "company_id": linked.company_id}
        person_id = service.create_entity(session, EntityType.PERSON, person, changed_by="test").id
        project_id = service.create_entity(session, EntityType.PROJECT, {"name": "Apollo"}, changed_by="test").id
        group = accounts.create_group(session, name="Sales").id
        connector = session.scalars(select(SyncConnector.id)).one()
        user = session.scalars(select(User.id).where(User.login == "carla")).one()
    clients = hub_clients(hub.database, cipher)
    try:
        engine = Engine(hub.database, clients)
        job = start_import(engine, linked.connection_id, m.ActorType.CUSTOMER, erp_keys=[]).id
    finally:
        clients.close()
    ids = {"connection": linked.connection_id, "connector": connector, "job": job, "group": group, "user": user}
    screens = ["/", "/companies", "/companies/new", "/persons", "/persons/new", "/projects", "/projects/new"]
    records = (("companies", linked.company_id), ("persons", person_id), ("projects", project_id))
    for segment, entity_id in records:
        screens += [f"/{segment}/{entity_id}{screen}" for screen in CRM_SCREENS]
        erp = f"/{segment}/{entity_id}/erp/{linked.connection_id}"
        if segment == "companies":  # the connection maps customers only
            screens += [erp + screen.format(actor="customer") for screen in ERP_SCREENS]
    screens += [f"/companies/{linked.company_id}/merge", "/conflicts"]  # the inbox: users with the ERP licence
    return screens, [screen.format(**ids) for screen in SETTINGS_SCREENS]


def _open_each(page: Page, hub: Hub, login: str, screens: list[str], language: str) -> list[str]:
    """Open each screen at the phone's width in ``language``; what went wrong, one line each."""
    hub.sign_in(page, login)
    page.goto(f"{hub.url}/companies")
    page.locator(f".language-switch button[value={language}]").click()
    page.wait_for_load_state()
    width, height = WIDTHS["phone"]
    failures = []
    for index, screen in enumerate(screens):
        answer = page.goto(f"{hub.url}{screen}")
        assert answer is not None
        if answer.status not in EXPECTED.get(screen.split("/")[-1], (200,)):
            failures.append(f"{screen}: {answer.status}")
            continue
        if page.locator("html").get_attribute("lang") != language:
            failures.append(f"{screen} is not in {language}")
        page.set_viewport_size({"width": width, "height": height})
        sideways = page.evaluate(SIDEWAYS)
        if sideways:
            failures.append(f"{screen} scrolls sideways at {width} px: {sideways}")
        if language == "da":
            text = page.locator("body").inner_text()
            english = [word for word in ENGLISH_UI_WORDS if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)]
            if english:
                failures.append(f"{screen} shows English in Danish: {english}")
        name = screen.strip("/").replace("/", "-").split("?")[0] or "home"
        screenshot(page, f"phone-{language}-{login}-{index:02}-{name}")
    return failures


@pytest.mark.parametrize("language", ["en", "da"])
def test_every_screen_fits_a_phone(page: Page, hub: Hub, language: str) -> None:
    crm, settings = _world(hub)
    assert len(crm) + len(settings) > 50
    failures = _open_each(page, hub, "carla", crm, language) + _open_each(page, hub, "admin", settings, language)
    assert failures == [], "\n".join(failures)
