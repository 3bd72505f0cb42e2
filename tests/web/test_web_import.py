"""Import from ERP and Resync from CRM over real HTTP against the sample connector: each wizard step's server rules
(bad criteria with every reason, an actor type the connection does not map, ticking nothing), the background job's
progress and result pages, cancel, undo, and the resync confirmation. Jobs run in the hub's embedded job thread."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.protocol import models as m
from erpsync.storage.tables import Company, ImportItem, SyncJob
from erpsync.sync import jobs, locks
from erpsync.testing.sample import COMPANY, RunningSample

from .conftest import Browser, Site, add_connection, configure_customers, crm_countries

JOB_URL = re.compile(r"/settings/sync/connections/\d+/jobs/(\d+)$")


@pytest.fixture
def admin(site: Site) -> Browser:
    site.add_user("admin", is_admin=True)
    return site.signed_in("admin")


@pytest.fixture
def wizard(site: Site, admin: Browser, sample: RunningSample) -> str:
    """A connection mapping customers (not suppliers, persons or projects) and three ERP customers: the wizard's URL."""
    connection_id = add_connection(admin, sample)
    configure_customers(admin, connection_id, crm_countries(site, "Denmark")[0])
    names = ("Alfa ApS", "Beta A/S", "Gamma IVS")
    sample.erp.insert_many(COMPANY, m.ActorType.CUSTOMER, [NewRecord(values={"name": name}) for name in names])
    return f"/settings/sync/connections/{connection_id}/import"


def _keys(page: str) -> list[str]:
    return re.findall(r'name="erp_key" value="([^"]+)"', page)


def _wait_ended(site: Site, job_id: int) -> SyncJob:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = jobs.read_job(site.database, job_id)
        if job.status not in jobs.ACTIVE:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


def _companies(site: Site) -> int:
    with site.database.read_session() as session:
        return session.scalar(select(func.count()).select_from(Company)) or 0


def _start(admin: Browser, wizard: str, keys: list[str]) -> int:
    started = admin.post(f"{wizard}/run?actor_type=customer&scope=all", {"erp_key": keys})
    assert started.status_code == 303, started.text
    match = JOB_URL.search(started.headers["location"])
    assert match, started.headers["location"]
    return int(match.group(1))


def test_the_wizard_imports_the_ticked_rows_and_undo_deletes_what_it_created(
    site: Site, admin: Browser, wizard: str
) -> None:
    first = admin.get(wizard)
    assert first.status_code == 200
    assert '<option value="customer" selected>Customer</option>' in first.text
    assert '<option value="supplier" disabled>Supplier (not mapped)</option>' in first.text
    assert admin.get(f"{wizard}/criteria?actor_type=customer").status_code == 200

    found = admin.get(f"{wizard}/results?actor_type=customer&scope=all")
    assert found.status_code == 200
    assert "3 ERP actors found" in found.text
    keys = _keys(found.text)
    assert len(keys) == 3
    assert found.text.count(" checked>") == 3  # every row ticked to start with

    preview = admin.post(f"{wizard}/preview?actor_type=customer&scope=all", {"erp_key": keys[:2]})
    assert preview.status_code == 200
    assert re.findall(r'<tr data-verb="(\w+)">', preview.text) == ["create", "create"]
    assert _keys(preview.text) == keys[:2]  # the run form carries the ticked rows

    job_id = _start(admin, wizard, keys[:2])
    job = _wait_ended(site, job_id)
    assert (job.status, job.created) == ("done", 2)
    page = admin.get(f"/settings/sync/connections/{job.connection_id}/jobs/{job_id}").text
    assert "100 %" in page
    assert 'hx-trigger="every' not in page  # an ended job is not polled
    created = re.findall(r'<a href="/companies/(\d+)">([^<]+)</a>', page)
    assert sorted(title for _, title in created) == ["Alfa ApS", "Beta A/S"]
    assert "Created (2)" in page
    assert "Updated (0)" in page

    again = admin.get(f"{wizard}/results?actor_type=customer&scope=all")
    preview = admin.post(f"{wizard}/preview?actor_type=customer&scope=all", {"erp_key": _keys(again.text)})
    assert re.findall(r'<tr data-verb="(\w+)">', preview.text).count("link") == 2  # linked already: no duplicate

    base = f"/settings/sync/connections/{job.connection_id}/imports/{job_id}/undo"
    assert "Delete the CRM records this import created (2)" in admin.get(base).text
    undone = admin.post(base)
    assert undone.status_code == 303
    assert undone.headers["location"].endswith("?undone=2")
    assert _companies(site) == 0
    page = admin.get(undone.headers["location"]).text
    assert "Import undone: 2 records deleted." in page
    # The records it created are gone: named as such, never by an internal id ("#46 (deleted)").
    assert re.findall(r"<span data-deleted-record>([^<]+)</span>", page) == ["a company since deleted"] * 2
    danish = admin.get(undone.headers["location"], headers={"Accept-Language": "da"}).text
    assert re.findall(r"<span data-deleted-record>([^<]+)</span>", danish) == ["et firma der siden er slettet"] * 2
    assert not re.search(r"#\d", page)
    assert "Undone" in page
    assert admin.post(base).status_code == 409  # only once


def test_bad_criteria_are_shown_with_every_reason_and_nothing_is_searched(admin: Browser, wizard: str) -> None:
    query = (
        "actor_type=customer&scope=criteria"
        "&field.0=name&operator.0=after&value.0=x"
        "&field.1=email&operator.1=oneof&value.1=a,b"
    )
    refused = admin.get(f"{wizard}/results?{query}")
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "2 criterion problems" in text
    assert "'after' does not apply to text field 'name'" in text
    assert "'one of' does not apply to text field 'email'" in text  # the operators as the criteria rows name them
    assert len(re.findall(r'data-criterion-field aria-invalid="true"', refused.text)) == 2
    assert 'value="x"' in refused.text  # what was typed stays

    admin.post("/language", {"language": "da", "next": "/settings/sync"})
    danish = html.unescape(admin.get(f"{wizard}/results?{query}").text)
    assert "'efter' passer ikke til tekst-feltet 'name'" in danish
    assert "'en af' passer ikke til tekst-feltet 'email'" in danish
    assert "does not apply" not in danish
    admin.post("/language", {"language": "en", "next": "/settings/sync"})

    nothing = admin.get(f"{wizard}/results?actor_type=customer&scope=criteria")
    assert nothing.status_code == 422
    assert "Choose at least one criterion" in nothing.text

    good = admin.get(f"{wizard}/results?actor_type=customer&scope=criteria&field.0=name&operator.0=begins&value.0=be")
    assert good.status_code == 200
    assert "1 ERP actor found" in good.text
    assert "Beta A/S" in good.text


def test_an_actor_type_the_connection_does_not_map_is_refused(site: Site, admin: Browser, wizard: str) -> None:
    for step in ("criteria", "results"):
        refused = admin.get(f"{wizard}/{step}?actor_type=supplier&scope=all")
        assert refused.status_code == 422
        assert "does not map ERP supplier" in refused.text
    refused = admin.post(f"{wizard}/run?actor_type=project&scope=all", {"erp_key": ["P1"]})
    assert refused.status_code == 422
    assert "does not map ERP project" in refused.text
    assert admin.get(f"{wizard}/criteria?actor_type=dragon").status_code == 404
    with site.database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(SyncJob)) == 0


def test_ticking_nothing_is_refused_and_starts_nothing(site: Site, admin: Browser, wizard: str) -> None:
    for step in ("preview", "run"):
        refused = admin.post(f"{wizard}/{step}?actor_type=customer&scope=all")
        assert refused.status_code == 422
        assert "Tick at least one row to import." in refused.text
        assert " checked>" not in refused.text
    with site.database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(SyncJob)) == 0


@pytest.fixture
def held_connection(site: Site, wizard: str) -> Iterator[int]:
    """The connection's lease held, as by a running sync: jobs stay queued."""
    connection_id = int(wizard.split("/")[-2])
    lease = locks.Lease(locks.connection_lock(connection_id), locks.new_holder(), timedelta(minutes=5))
    assert locks.try_acquire(site.database, lease)
    yield connection_id
    locks.release(site.database, lease)


def test_a_queued_job_is_polled_and_cancel_stops_it(
    site: Site, admin: Browser, wizard: str, held_connection: int
) -> None:
    keys = _keys(admin.get(f"{wizard}/results?actor_type=customer&scope=all").text)
    job_id = _start(admin, wizard, keys)
    page = admin.get(f"/settings/sync/connections/{held_connection}/jobs/{job_id}").text
    assert f'hx-get="/settings/sync/connections/{held_connection}/jobs/{job_id}/live" hx-trigger="every 1s"' in page
    assert "Queued" in page
    assert '<progress id="job-progress" max="100" value="0.0"' in page
    live = admin.get(f"/settings/sync/connections/{held_connection}/jobs/{job_id}/live").text
    assert live.lstrip().startswith('<div id="job-live"')  # the fragment alone
    assert "<html" not in live
    busy = admin.post(f"{wizard}/run?actor_type=customer&scope=all", {"erp_key": keys})
    assert busy.status_code == 409
    assert "queued or running" in busy.text
    cancelled = admin.post(f"/settings/sync/connections/{held_connection}/jobs/{job_id}/cancel")
    assert cancelled.status_code == 303
    assert jobs.read_job(site.database, job_id).status == "cancelled"
    assert "Undo import" not in admin.get(cancelled.headers["location"]).text  # it created nothing


def test_resync_asks_first_then_runs_as_a_job(site: Site, admin: Browser, wizard: str) -> None:
    connection_id = int(wizard.split("/")[-2])
    keys = _keys(admin.get(f"{wizard}/results?actor_type=customer&scope=all").text)
    _wait_ended(site, _start(admin, wizard, keys))
    base = f"/settings/sync/connections/{connection_id}/resync"
    dialog = admin.get(base).text
    assert "Resync: Main" in dialog
    assert re.search(r'<input type="checkbox" id="resync-no-blank" name="no_blank_overwrite" value="on">', dialog)
    started = admin.post(base, {"no_blank_overwrite": "on"})
    assert started.status_code == 303
    match = JOB_URL.search(started.headers["location"])
    assert match
    job = _wait_ended(site, int(match.group(1)))
    assert (job.kind, job.status, job.no_blank_overwrite, job.total, job.processed) == ("resync", "done", True, 3, 3)
    page = admin.get(started.headers["location"]).text
    assert "Pushed to the ERP" in page
    assert "100 %" in page


def test_the_wizard_and_the_jobs_are_for_administrators_only(site: Site, admin: Browser, wizard: str) -> None:
    site.add_user("carla", licences=("erp",))
    carla = site.signed_in("carla")
    assert carla.get(wizard).status_code == 403
    assert carla.post(f"{wizard}/run?actor_type=customer&scope=all", {"erp_key": ["x"]}).status_code == 403
    assert carla.get(wizard.replace("/import", "/resync")).status_code == 403
    assert admin.get("/settings/sync/connections/999/import").status_code == 404


def test_the_preview_words_its_reasons_in_the_pages_language(site: Site, admin: Browser, wizard: str) -> None:
    with site.database.session() as session:  # two CRM companies a customer matches by name: skipped, with why
        for _ in range(2):
            service.create_entity(session, EntityType.COMPANY, {"name": "Alfa ApS"}, changed_by="test")
    keys = _keys(admin.get(f"{wizard}/results?actor_type=customer&scope=all").text)
    preview = f"{wizard}/preview?actor_type=customer&scope=all"
    english = admin.post(preview, {"erp_key": keys}).text
    assert "2 CRM records match by name." in english
    admin.post("/language", {"language": "da", "next": "/settings/sync"})
    danish = admin.post(preview, {"erp_key": keys}).text
    assert "2 CRM-poster passer på navn." in danish
    assert "match by" not in danish


def test_the_job_page_words_its_stored_reasons_in_the_pages_language(site: Site, admin: Browser, wizard: str) -> None:
    with site.database.session() as session:  # two CRM companies a customer matches by name: skipped, with why
        for _ in range(2):
            service.create_entity(session, EntityType.COMPANY, {"name": "Alfa ApS"}, changed_by="test")
    keys = _keys(admin.get(f"{wizard}/results?actor_type=customer&scope=all").text)
    job = _wait_ended(site, _start(admin, wizard, keys))
    skipped = f"/settings/sync/connections/{job.connection_id}/jobs/{job.id}?list=skipped"
    assert "· 2 CRM records match by name." in admin.get(skipped).text  # worded by the page, not as stored
    admin.post("/language", {"language": "da", "next": "/settings/sync"})
    danish = admin.get(skipped).text
    assert "2 CRM-poster passer på navn." in danish
    assert "match by" not in danish

    with site.database.session() as session:  # a row stored before reasons had codes: its English text, as kept
        session.execute(update(ImportItem).where(ImportItem.job_id == job.id).values(reason_detail=None))
    assert "· 2 CRM companies match by name" in admin.get(skipped).text
