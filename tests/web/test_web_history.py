"""The field history over real HTTP with the sample connector: the ERP tab's last writer of each field with *Revert*,
the record's history page, *Undo* on a run's page, and the resync dialog's dry run."""

from __future__ import annotations

import re
import time

from erpsync.protocol import models as m
from erpsync.testing.sample import COMPANY

from .test_web_erp_tab import TAB, Tab, tab

__all__ = ["tab"]


def _linked_with_erp_change(tab: Tab) -> tuple[int, str]:
    """A company linked to a customer whose email then changed in the ERP and was synced into the CRM."""
    company_id = tab.company("Acme", email="old@acme.example")
    erp_key = tab.customer("Acme", email="old@acme.example")
    connected = tab.carla.post(tab.url(company_id, "/connect"), {"actor_type": "customer", "erp_key": erp_key})
    assert connected.status_code == 303, connected.text
    tab.sample.erp.update_actor(COMPANY, m.ActorType.CUSTOMER, erp_key, {"email": "new@acme.example"})
    synced = tab.carla.post(tab.url(company_id, "/sync")).text
    assert "Changed in the CRM: EMAIL." in synced
    return company_id, erp_key


def test_the_erp_tab_shows_each_fields_last_writer_and_reverts_one(tab: Tab) -> None:
    company_id, _erp_key = _linked_with_erp_change(tab)
    page = tab.carla.get(tab.url(company_id)).text
    row = re.search(r'<tr data-last-write="email">(.*?)</tr>', page, re.S)
    assert row, page
    assert "<td>CRM</td>" in row.group(1)
    assert "Sync · <span data-writer>Main</span>" in row.group(1)
    assert "<del>old@acme.example</del>" in row.group(1)
    revert = re.search(r'action="(/companies/\d+/erp/\d+/revert/\d+)"', row.group(1))
    assert revert
    done = tab.carla.post(revert.group(1))
    assert done.status_code == 200, done.text
    assert "1 field written back" in done.text
    assert 'data-change="' in done.text
    assert "old@acme.example" in tab.carla.get(f"/companies/{company_id}/edit").text
    row = re.search(r'<tr data-last-write="email">(.*?)</tr>', tab.carla.get(tab.url(company_id)).text, re.S)
    assert row
    assert "Revert · <span data-writer>Carla</span>" in row.group(1)
    danish = tab.carla.get(f"/companies/{company_id}/history", headers={"Accept-Language": "da"}).text
    assert "Felthistorik" in danish
    assert "Tilbageførsel" in danish
    tab.site.add_user("bo")
    assert tab.site.signed_in("bo").get(f"/companies/{company_id}/history").status_code == 403


def test_a_revert_of_a_field_edited_since_leaves_it_and_says_why(tab: Tab) -> None:
    company_id, _ = _linked_with_erp_change(tab)
    revert = re.search(r'action="(/companies/\d+/erp/\d+/revert/\d+)"', tab.carla.get(tab.url(company_id)).text)
    assert revert
    assert tab.carla.post(f"/companies/{company_id}/edit", {"name": "Acme", "email": "mine@acme.example"}).status_code
    done = tab.carla.post(revert.group(1)).text
    assert "0 fields written back" in done
    assert re.search(r'data-left-alone="email">email \(CRM\) left alone: edited since', done)
    assert "mine@acme.example" in tab.carla.get(f"/companies/{company_id}/edit").text


def test_undo_from_a_runs_page_is_a_run_of_its_own(tab: Tab) -> None:
    company_id, _erp_key = _linked_with_erp_change(tab)
    run_id = _run_of(tab, company_id)
    page = tab.admin.get(f"{TAB}/runs/{run_id}").text
    assert f'href="/settings/sync/runs/{run_id}/undo"' in page
    assert "Each field it changed" in tab.admin.get(f"{TAB}/runs/{run_id}/undo").text
    undone = tab.admin.post(f"{TAB}/runs/{run_id}/undo")
    assert undone.status_code == 303, undone.text
    undo_page = tab.admin.get(undone.headers["location"]).text
    assert "Undo" in undo_page
    assert "<ins>old@acme.example</ins>" in undo_page
    assert "Undone by" in tab.admin.get(f"{TAB}/runs/{run_id}").text
    again = tab.admin.post(f"{TAB}/runs/{run_id}/undo")
    assert again.status_code == 409
    assert "undone already" in again.text
    assert tab.carla.post(f"{TAB}/runs/{run_id}/undo").status_code == 403
    assert "old@acme.example" in tab.carla.get(f"/companies/{company_id}/edit").text


def _run_of(tab: Tab, company_id: int) -> str:
    """The newest run of the connection: the record's Sync now."""
    page = tab.admin.get(f"{TAB}/connections/{tab.connection_id}/health").text
    found = re.search(r'href="/settings/sync/runs/(\d+)"', page)
    assert found, page
    return found.group(1)


def test_the_resync_dialog_dry_runs_then_runs_in_the_chosen_scope(tab: Tab) -> None:
    company_id, _erp_key = _linked_with_erp_change(tab)
    tab.carla.post(f"/companies/{company_id}/edit", {"name": "Acme", "email": "crm@acme.example"})
    base = f"{TAB}/connections/{tab.connection_id}/resync"
    form = {"source": "erp", "actor_type": "customer", "records": str(company_id), "dry_run": "1"}
    preview = tab.admin.post(base, form)
    assert preview.status_code == 200, preview.text
    assert "1 of 1 records would change" in preview.text
    row = re.search(rf'<tr data-would-change="{company_id}:email">(.*?)</tr>', preview.text, re.S)
    assert row
    assert "<del>crm@acme.example</del>" in row.group(1)
    assert "<ins>new@acme.example</ins>" in row.group(1)
    assert "crm@acme.example" in tab.carla.get(f"/companies/{company_id}/edit").text  # nothing written
    wrong = tab.admin.post(base, {**form, "records": "seven"})
    assert wrong.status_code == 409
    started = tab.admin.post(base, {key: value for key, value in form.items() if key != "dry_run"})
    assert started.status_code == 303, started.text
    deadline = time.monotonic() + 20
    while "crm@acme.example" in tab.carla.get(f"/companies/{company_id}/edit").text:
        assert time.monotonic() < deadline, "the resync did not write the ERP value"
        time.sleep(0.1)
    assert "new@acme.example" in tab.carla.get(f"/companies/{company_id}/edit").text


def test_the_sync_tab_sets_how_long_the_history_is_kept(tab: Tab) -> None:
    assert (
        'name="days" type="number" min="1" max="3650" step="1" inputmode="numeric" value="365"'
        in tab.admin.get(TAB).text
    )
    saved = tab.admin.post(f"{TAB}/history", {"days": "30"})
    assert saved.status_code == 303
    assert 'value="30"' in tab.admin.get(saved.headers["location"]).text
    for wrong in ("0", "soon", "99999"):
        refused = tab.admin.post(f"{TAB}/history", {"days": wrong})
        assert refused.headers["location"].endswith("history_error=1")
    assert "Not saved: enter 1 to 3650 days." in tab.admin.get(f"{TAB}?history_error=1").text
    assert 'value="30"' in tab.admin.get(TAB).text
    assert tab.carla.post(f"{TAB}/history", {"days": "1"}).status_code == 403
