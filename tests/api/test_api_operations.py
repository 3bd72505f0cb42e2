"""Operations over real HTTP: problems grouped by cause and retried a group at a time (the retry pass then syncs them),
broken links unlinked, alert settings (secrets never returned) and recipients, the audit log, and purge."""

from __future__ import annotations

import httpx

from erpsync.errors import ErrorCode
from erpsync.protocol.models import ActorType
from erpsync.storage.tables import utcnow
from erpsync.sync import links
from erpsync.testing.sample import COMPANY

from .conftest import Synced, ok


def test_a_group_of_failing_records_is_listed_retried_and_synced(synced: Synced) -> None:
    with synced.hub.database.session() as session:
        link = links.get_link(session, synced.link_id)
        links.mark_failed(link, ErrorCode.VALIDATION, f"customer {synced.erp_key} is locked", now=utcnow())
    found = ok(synced.admin.get(f"{synced.base}/problems"))
    [group] = found["groups"]
    assert (group["records"], group["error_code"], group["message"], group["fix"]) == (
        1,
        "validation",
        "customer # is locked",
        "record",
    )
    assert [example["link_id"] for example in group["examples"]] == [synced.link_id]
    assert found["broken"] == []
    synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"email": "fixed@acme.example"})
    assert ok(synced.admin.post(f"{synced.base}/problems/{group['cause']}/retry")) == {"records": 1}
    ok(synced.sync())
    assert ok(synced.admin.get(f"{synced.base}/problems"))["groups"] == []
    assert synced.company()["email"] == "fixed@acme.example"
    missing = synced.admin.post(f"{synced.base}/problems/{group['cause']}/retry")
    assert missing.status_code == 404


def test_a_broken_link_is_listed_and_unlinked(synced: Synced) -> None:
    with synced.hub.database.session() as session:
        links.mark_broken(links.get_link(session, synced.link_id), "the ERP actor was deleted or is missing")
    [broken] = ok(synced.admin.get(f"{synced.base}/problems"))["broken"]
    assert (broken["link_id"], broken["erp_key"]) == (synced.link_id, synced.erp_key)
    unlinked = synced.admin.post(f"{synced.base}/broken/{synced.link_id}/unlink")
    assert unlinked.status_code == 204
    assert ok(synced.admin.get(f"{synced.base}/problems"))["broken"] == []
    assert ok(synced.admin.get(f"/companies/{synced.company_id}/erp"))["sections"][0]["link"] is None


def test_alert_settings_keep_their_secrets_and_recipients_are_checked(synced: Synced) -> None:
    body = {"smtp_host": "mail.example.com", "smtp_port": 587, "smtp_security": "starttls", "smtp_user": "hub"}
    saved = ok(synced.admin.put("/alert-settings", json={**body, "smtp_password": "p4ss", "webhook_secret": "s3cret"}))
    assert (saved["smtp_password_set"], saved["webhook_secret_set"]) == (True, True)
    read = synced.admin.get("/alert-settings")
    assert "p4ss" not in read.text
    assert "s3cret" not in read.text
    assert ok(synced.admin.put("/alert-settings", json=body))["smtp_password_set"] is True
    refused = synced.admin.put("/alert-settings", json={**body, "smtp_port": 0})
    assert refused.status_code == 422
    recipients = f"{synced.base}/alert-recipients"
    added = ok(synced.admin.post(recipients, json={"channel": "email", "target": "ops@example.com"}), 201)
    assert synced.admin.post(recipients, json={"channel": "email", "target": "not an address"}).status_code == 422
    webhook = {"channel": "webhook", "target": "ftp://example.com/hook"}
    assert synced.admin.post(recipients, json=webhook).status_code == 422
    assert [r["target"] for r in ok(synced.admin.get(recipients))] == ["ops@example.com"]
    assert synced.admin.delete(f"{recipients}/{added['id']}").status_code == 204
    assert ok(synced.admin.get(recipients)) == []
    assert ok(synced.admin.get(f"{synced.base}/alert-deliveries")) == []
    log = ok(synced.admin.get("/audit", params={"target_type": "alert_settings"}))
    assert log["total"] == 2
    assert "p4ss" not in str(log)


def test_the_audit_log_is_filtered_and_paged(synced: Synced) -> None:
    everything = ok(synced.admin.get("/audit"))
    assert everything["total"] >= 3  # the connector, the connection, its mapping and activation
    assert {entry["who"] for entry in everything["entries"]} == {"admin"}
    page = ok(synced.admin.get("/audit", params={"who": "admin", "target_type": "connection", "per_page": 1}))
    assert (len(page["entries"]), page["per_page"]) == (1, 1)
    assert synced.admin.get("/audit", params={"who": "nobody"}).status_code == 404
    assert (
        synced.admin.get(
            "/audit", params={"since": "2030-01-01T00:00:00Z", "until": "2020-01-01T00:00:00Z"}
        ).status_code
        == 422
    )


def test_purge_needs_a_deleted_connection_and_is_audited(synced: Synced, admin: httpx.Client) -> None:
    assert synced.admin.post(f"{synced.base}/purge").status_code == 409
    assert synced.admin.delete(synced.base).status_code == 204
    assert ok(synced.admin.post(f"{synced.base}/purge")) == {"links": 1}
    assert synced.admin.get(synced.base).status_code == 404
    [entry] = ok(admin.get("/audit", params={"action": "purge"}))["entries"]
    assert (entry["target_id"], entry["detail"]) == (str(synced.connection_id), {"name": "Main", "links": 1})
