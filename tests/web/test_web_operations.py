"""Operations pages over real HTTP, in English and Danish: problems by cause on the health page with Retry all, broken
links with their fix actions, alert settings (secrets never shown) and recipients, the audit log, and purge."""

from __future__ import annotations

import html

from sqlalchemy import select

from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record
from erpsync.errors import ErrorCode
from erpsync.storage.tables import AuditEntry, ErpConnection, ErpLink, utcnow
from erpsync.sync import links
from erpsync.testing.sample import RunningSample

from .conftest import Browser, Site, add_connection

TAB = "/settings/sync"


def _admin(site: Site) -> Browser:
    site.add_user("admin", is_admin=True)
    return site.signed_in("admin")


def _failing(site: Site, connection_id: int, count: int, message: str, *, broken: int = 0) -> list[int]:
    """``count`` companies failing with ``message`` and ``broken`` more with their ERP actor gone."""
    ids = []
    with site.database.session() as session:
        for n in range(count + broken):
            company = create_record(session, EntityType.COMPANY, {"NAME": f"Company {n}"}, changed_by="system")
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
            if n < count:
                links.mark_failed(link, ErrorCode.MAPPING, message.format(n=n), now=utcnow())
            else:
                links.mark_broken(link, "the ERP actor was deleted or is missing")
            ids.append(link.id)
    return ids


def test_the_health_page_groups_failing_records_by_cause_and_retries_a_cause(site: Site, sample: RunningSample) -> None:
    admin = _admin(site)
    connection_id = add_connection(admin, sample)
    _failing(site, connection_id, 40, "list 'country' has no item for 'X{n}'")
    _failing(site, connection_id, 2, "NAME is required")
    health = f"{TAB}/connections/{connection_id}/health"
    page = html.unescape(admin.get(health).text)
    assert "Problems by cause" in page
    assert 'list "…" has no item for "…"' in page
    assert page.index('data-count="records">40<') < page.index('data-count="records">2<')
    assert f'href="{TAB}/connections/{connection_id}/list-mapping">Fix the list mapping<' in page
    assert "Fix the defaults" in page
    assert "Company 0" in page  # an example record, by its name
    with site.database.read_session() as session:
        cause = session.scalars(select(ErpLink.error_cause).where(ErpLink.last_error.like("list%"))).first()
    retried = admin.post(f"{TAB}/connections/{connection_id}/problems/{cause}/retry")
    assert retried.status_code == 303
    assert "40 records will be tried again on the next sync." in admin.get(retried.headers["location"]).text
    admin.post("/language", {"language": "da"})
    danish = admin.get(health).text
    assert "Problemer efter årsag" in danish
    assert "Ret listetilknytningen" in danish


def test_the_health_page_lists_the_first_failing_records_and_counts_them_all(site: Site, sample: RunningSample) -> None:
    admin = _admin(site)
    connection_id = add_connection(admin, sample)
    _failing(site, connection_id, 55, "customer {n} is locked")
    page = admin.get(f"{TAB}/connections/{connection_id}/health").text
    assert "The first 50 of 55 failing records; the causes above count them all." in page
    assert page.count('/retry"') == 50 + 1  # a Retry per record shown, and the cause's Retry all
    assert 'data-count="records">55<' in page


def test_a_broken_link_is_unlinked_and_the_record_opened_to_link_it_again(site: Site, sample: RunningSample) -> None:
    admin = _admin(site)
    connection_id = add_connection(admin, sample)
    [link_id] = _failing(site, connection_id, 0, "", broken=1)
    health = f"{TAB}/connections/{connection_id}/health"
    page = admin.get(health).text
    assert "Broken links" in page
    assert "Link to another actor" in page
    with site.database.read_session() as session:
        company_id = session.get_one(ErpLink, link_id).entity_id
    moved = admin.post(
        f"{TAB}/connections/{connection_id}/broken/{link_id}/unlink", {"then": f"/companies/{company_id}/erp"}
    )
    assert moved.headers["location"] == f"/companies/{company_id}/erp"
    assert "No broken links." in admin.get(health).text
    assert admin.post(f"{TAB}/connections/{connection_id}/broken/{link_id}/unlink").status_code == 404


def test_alert_settings_never_show_their_secrets_and_recipients_are_checked(site: Site, sample: RunningSample) -> None:
    admin = _admin(site)
    connection_id = add_connection(admin, sample)
    form = {"smtp_host": "mail.example.com", "smtp_port": "587", "smtp_security": "starttls", "smtp_user": "hub"}
    saved = admin.post(f"{TAB}/alerts", {**form, "smtp_password": "p4ss-word", "from_address": "hub@example.com"})
    assert saved.status_code == 303
    page = admin.get(saved.headers["location"]).text
    assert "p4ss-word" not in page
    assert "Set: leave empty to keep it." in page
    assert admin.post(f"{TAB}/alerts", {**form, "smtp_port": "0"}).status_code == 422
    assert admin.post(f"{TAB}/alerts", {**form, "from_address": "nobody"}).status_code == 422
    alerts = f"{TAB}/connections/{connection_id}/alerts"
    refused = admin.post(alerts, {"channel": "email", "target": "not an address", "on_alert": "on"})
    assert refused.status_code == 422
    assert "is not a mail address" in refused.text
    assert admin.post(alerts, {"channel": "email", "target": "ops@example.com", "on_alert": "on"}).status_code == 303
    page = admin.get(alerts).text
    assert "ops@example.com" in page
    assert "No alert has been sent for this connection yet." in page
    with site.database.read_session() as session:
        details = [entry.detail_json for entry in session.scalars(select(AuditEntry))]
    assert "p4ss-word" not in str(details)


def test_the_audit_log_is_filtered_and_paged(site: Site, sample: RunningSample) -> None:
    admin = _admin(site)
    add_connection(admin, sample)
    page = admin.get("/settings/audit").text
    assert "Who changed what, and when" in page
    assert "connector" in page
    filtered = admin.get("/settings/audit", params={"who": "admin", "target_type": "connection"}).text
    assert "1 entry" in filtered
    assert admin.get("/settings/audit", params={"who": "nobody"}).status_code == 422
    assert admin.get("/settings/audit", params={"since": "yesterday"}).status_code == 422
    empty = admin.get("/settings/audit", params={"until": "2000-01-01"}).text
    assert "0 entries" in empty
    admin.post("/language", {"language": "da"})
    assert "Revisionslog" in admin.get("/settings/audit").text


def test_purge_asks_first_and_only_a_deleted_connection(site: Site, sample: RunningSample) -> None:
    admin = _admin(site)
    connection_id = add_connection(admin, sample, name="Doomed")
    _failing(site, connection_id, 3, "customer {n} is locked")
    base = f"{TAB}/connections/{connection_id}"
    asked = admin.get(f"{base}/purge").text
    assert "Only a deleted connection can be purged" in asked
    assert admin.post(f"{base}/purge").status_code == 409
    assert admin.post(f"{base}/delete").status_code == 303
    question = admin.get(f"{base}/purge").text
    assert "Purge Doomed for good?" in question
    assert "cannot be restored" in question
    purged = admin.post(f"{base}/purge")
    assert purged.headers["location"] == f"{TAB}?deleted=true&purged=1"
    assert "The connection was purged." in admin.get(purged.headers["location"]).text
    with site.database.read_session() as session:
        assert session.get(ErpConnection, connection_id) is None
        assert session.scalars(select(ErpLink)).all() == []
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "purge")).one()
    assert entry.detail_json == {"name": "Doomed", "links": 3}


def test_a_link_whose_crm_record_was_deactivated_is_listed_as_deleted_in_erp_with_its_fixes(
    site: Site, sample: RunningSample
) -> None:
    admin = _admin(site)
    connection_id = add_connection(admin, sample)
    [link_id] = _failing(site, connection_id, 0, "", broken=1)
    with site.database.session() as session:
        links.mark_deactivated(session.get_one(ErpLink, link_id), now=utcnow())
    health = f"{TAB}/connections/{connection_id}/health"
    page = admin.get(health).text
    assert "data-deleted-in-erp>Deleted in the ERP: the CRM record was deactivated.<" in page
    assert "Link to another actor" in page
    admin.post("/language", {"language": "da"})
    assert "data-deleted-in-erp>Slettet i ERP: CRM-posten blev deaktiveret.<" in admin.get(health).text
