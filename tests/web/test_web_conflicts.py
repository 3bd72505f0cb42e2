"""The conflict inbox page: a user sees the conflicts of their own CRM changes on a field whose policy is *ask*, and
settles them with one click in English and Danish; the chosen value reaches both sides."""

from __future__ import annotations

import re

from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record, write_record
from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY, RunningSample
from support.linking import link_company

from .conftest import CUSTOMER_ROWS, Browser, Site, add_connection, crm_countries, mapping_form

TAB = "/settings/sync"


def _conflict(site: Site, sample: RunningSample, admin: Browser, editor_id: int) -> tuple[int, str]:
    """A linked company whose e-mail the ERP and ``editor_id`` changed to different values, and a run."""
    connection_id = add_connection(admin, sample)
    rows = {**CUSTOMER_ROWS, "email": {**CUSTOMER_ROWS["email"], "policy": "ask"}}
    rows.pop("country")
    assert (
        admin.post(
            f"{TAB}/connections/{connection_id}/mappings?actor_type=customer", mapping_form(True, rows)
        ).status_code
        == 303
    )
    crm_countries(site, "DK")
    assert admin.post(f"{TAB}/connections/{connection_id}/active", {"active": "on"}).status_code == 303
    values = {"name": "Acme", "email": "a@acme.example"}
    erp_key = sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord(values=values))
    with site.database.session() as session:
        company_id = create_record(
            session, EntityType.COMPANY, {"NAME": "Acme", "EMAIL": "a@acme.example"}, changed_by="user:1"
        ).id
    link_company(site.database, connection_id, company_id, erp_key, values)
    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, erp_key, {"email": "erp@acme.example"})
    with site.database.session() as session:
        write_record(
            session, EntityType.COMPANY, company_id, {"EMAIL": "crm@acme.example"}, changed_by=f"user:{editor_id}"
        )
    assert admin.post(f"{TAB}/connections/{connection_id}/sync").status_code == 200
    return company_id, erp_key


def test_a_user_settles_their_conflict_from_the_inbox_page(site: Site, sample: RunningSample) -> None:
    site.add_user("admin", is_admin=True)
    anna_id = site.add_user("anna", licences=("erp",))
    site.add_user("bo", licences=("erp",))
    admin = site.signed_in("admin")
    _company_id, erp_key = _conflict(site, sample, admin, anna_id)
    anna, bo = site.signed_in("anna"), site.signed_in("bo")

    assert 'href="/conflicts"' in anna.get("/companies").text  # the nav leads there
    page = anna.get("/conflicts")
    assert page.status_code == 200
    assert "crm@acme.example" in page.text
    assert "erp@acme.example" in page.text
    [conflict_id] = re.findall(r'name="conflict" value="(\d+)"', page.text)
    assert "Acme" in page.text
    assert re.findall(r'name="conflict"', bo.get("/conflicts").text) == []  # not bo's change

    nothing = anna.post("/conflicts/resolve", {"side": "erp"})
    assert nothing.status_code == 422
    assert "Tick at least one conflict" in nothing.text

    done = anna.post("/conflicts/resolve", {"conflict": conflict_id, "side": "crm"})
    assert done.status_code == 200, done.text
    assert "1 conflict settled" in done.text
    assert "No conflict waits for you." in done.text
    actor = sample.erp.fetch(COMPANY, ActorType.CUSTOMER, [erp_key], ORGANISATION.fields)[erp_key]
    assert actor.fields["email"] == "crm@acme.example"


def test_the_inbox_page_speaks_danish(site: Site) -> None:
    site.add_user("anna", licences=("erp",))
    anna = site.signed_in("anna")
    assert anna.post("/language", {"language": "da"}).status_code in (200, 303)
    page = anna.get("/conflicts").text
    assert "Konflikter at afgøre" in page
    assert "Ingen konflikter venter på dig." in page


def test_a_user_without_the_erp_licence_has_no_inbox(site: Site) -> None:
    site.add_user("carl")
    carl = site.signed_in("carl")
    assert 'href="/conflicts"' not in carl.get("/companies").text
    assert carl.get("/conflicts").status_code == 403
