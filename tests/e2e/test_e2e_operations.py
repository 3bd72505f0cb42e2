"""An administrator works through the operations screens in a real browser, in English and in Danish: problems grouped
by cause on the health page and a whole cause retried, the connection's alert recipients, the audit log filtered, and
a deleted connection purged after confirming."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record
from erpsync.errors import ErrorCode
from erpsync.storage.tables import ErpLink, utcnow
from erpsync.sync import links

from .conftest import Hub, screenshot

TEXTS = {
    "en": {
        "by_cause": "Problems by cause",
        "retry": "Retry all",
        "scheduled": "12 records will be tried again on the next sync.",
        "fix": "Fix the list mapping",
        "alerts": "Alerts",
        "add": "Add",
        "audit": "Audit log",
        "filter": "Filter",
        "purge": "Purge",
        "purged": "The connection was purged.",
        "show_deleted": "Show deleted connections",
        "delete": "Delete",
    },
    "da": {
        "by_cause": "Problemer efter årsag",
        "retry": "Prøv alle igen",
        "scheduled": "12 poster prøves igen ved næste synkronisering.",
        "fix": "Ret listetilknytningen",
        "alerts": "Advarsler",
        "add": "Tilføj",
        "audit": "Revisionslog",
        "filter": "Filtrér",
        "purge": "Slet endeligt",
        "purged": "Forbindelsen er slettet endeligt.",
        "show_deleted": "Vis slettede forbindelser",
        "delete": "Slet",
    },
}


def _failing(hub: Hub, connection_id: int, count: int) -> None:
    with hub.database.session() as session:
        for n in range(count):
            company = create_record(session, EntityType.COMPANY, {"NAME": f"Fjord {n}"}, changed_by="system")
            link = ErpLink(
                connection_id=connection_id,
                entity_type="company",
                entity_id=company.id,
                actor_type="customer",
                erp_key=f"C{company.id}",
                agreed_json={},
            )
            session.add(link)
            session.flush()
            links.mark_failed(link, ErrorCode.MAPPING, f"list 'country' has no item for 'X{n}'", now=utcnow())


@pytest.mark.parametrize("language", ["en", "da"])
def test_admin_retries_a_cause_sets_alerts_reads_the_audit_log_and_purges(page: Page, hub: Hub, language: str) -> None:
    texts = TEXTS[language]
    connection_id = hub.add_connection(visible_to=())
    _failing(hub, connection_id, 12)
    page.goto(f"{hub.url}/login")
    page.locator(f".language-switch button[value={language}]").click()
    hub.sign_in(page, "admin")

    page.goto(f"{hub.url}/settings/sync/connections/{connection_id}/health")
    expect(page.get_by_role("heading", name=texts["by_cause"])).to_be_visible()
    group = page.locator("table[data-problem-groups] tbody tr")
    expect(group).to_have_count(1)
    expect(group.locator("[data-count=records]")).to_have_text("12")
    expect(group.get_by_role("link", name=texts["fix"])).to_be_visible()
    screenshot(page, f"{language}-health-problems")
    group.get_by_role("button", name=texts["retry"]).click()
    expect(page.get_by_role("status").filter(has_text=texts["scheduled"])).to_be_visible()

    page.get_by_role("link", name=texts["alerts"], exact=True).click()
    page.locator("#target").fill("ops@example.com")
    page.get_by_role("button", name=texts["add"], exact=True).click()
    expect(page.locator("table[data-recipients]")).to_contain_text("ops@example.com")
    screenshot(page, f"{language}-alert-recipients")

    page.goto(f"{hub.url}/settings/audit")
    expect(page.get_by_role("link", name=texts["audit"])).to_have_attribute("aria-current", "page")
    page.locator("#audit-who").fill("admin")
    page.get_by_role("button", name=texts["filter"]).click()
    expect(page.locator("table[data-audit] tbody tr").first).to_contain_text("alert_recipient")
    screenshot(page, f"{language}-audit-log")

    page.goto(f"{hub.url}/settings/sync")
    page.locator(f"#select-connection-{connection_id}").check()
    page.get_by_role("toolbar").get_by_role("button", name=texts["delete"], exact=True).click()
    page.locator("dialog[open] button[type=submit]").click()
    page.get_by_label(texts["show_deleted"]).check()
    page.locator(f"#select-connection-{connection_id}").check()
    page.get_by_role("toolbar").get_by_role("button", name=texts["purge"]).click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Main")
    dialog.get_by_role("button", name=texts["purge"]).click()
    expect(page.get_by_role("status").filter(has_text=texts["purged"])).to_be_visible()
    expect(page.locator(f"#select-connection-{connection_id}")).to_have_count(0)
