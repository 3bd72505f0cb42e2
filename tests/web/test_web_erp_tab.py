"""The ERP tab and sync health over real HTTP with the sample connector: who sees the tab, connect with search and
winners, create in ERP with the asked defaults, Sync now, disconnect; health counts, runs with field diffs."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest

from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.protocol import models as m
from erpsync.sync import live
from erpsync.testing.sample import COMPANY, RunningSample

from .conftest import CUSTOMER_ROWS, Browser, Site, add_connection, configure_customers, crm_countries, mapping_form

TAB = "/settings/sync"


@dataclass
class Tab:
    site: Site
    sample: RunningSample
    admin: Browser
    carla: Browser
    connection_id: int

    def company(self, name: str, **values: str) -> int:
        created = self.carla.post("/companies/new", {"name": name, **values})
        assert created.status_code == 303, created.text
        return int(created.headers["location"].rsplit("/", 1)[1])

    def customer(self, name: str, **values: m.Value) -> str:
        return self.sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord(values={"name": name, **values}))

    def erp(self, erp_key: str) -> dict[str, m.Value]:
        found = self.sample.erp.fetch(COMPANY, m.ActorType.CUSTOMER, [erp_key], ORGANISATION.fields)
        return dict(found[erp_key].fields)

    def url(self, company_id: int, path: str = "") -> str:
        return f"/companies/{company_id}/erp" + (f"/{self.connection_id}{path}" if path else "")


@pytest.fixture
def tab(site: Site, sample: RunningSample) -> Tab:
    site.add_user("admin", is_admin=True)
    carla_id = site.add_user("carla", licences=("erp",))
    admin = site.signed_in("admin")
    connection_id = add_connection(admin, sample, visibility="specified", visible_users=str(carla_id))
    (denmark,) = crm_countries(site, "Denmark")
    configure_customers(admin, connection_id, denmark)
    assert admin.post(f"{TAB}/connections/{connection_id}/active", {"active": "on"}).status_code == 303
    return Tab(site, sample, admin, site.signed_in("carla"), connection_id)


def test_only_licensed_users_who_can_see_an_active_connection_get_the_tab(tab: Tab) -> None:
    company_id = tab.company("Acme")
    assert f'href="/companies/{company_id}/erp"' in tab.carla.get(f"/companies/{company_id}").text
    tab.site.add_user("outsider", licences=("erp",))
    tab.site.add_user("unlicensed")
    outsider, unlicensed = tab.site.signed_in("outsider"), tab.site.signed_in("unlicensed")
    for browser in (outsider, unlicensed):
        assert "/erp" not in browser.get(f"/companies/{company_id}").text
    refused = unlicensed.get(tab.url(company_id))
    assert refused.status_code == 403
    assert "You do not have the ERP licence" in refused.text
    assert "administrator role" not in refused.text
    assert outsider.get(tab.url(company_id, "/search?actor_type=customer")).status_code == 404
    assert tab.admin.post(f"{TAB}/connections/{tab.connection_id}/active", {}).status_code == 303
    assert "/erp" not in tab.carla.get(f"/companies/{company_id}").text


def test_connect_searches_at_once_asks_for_winners_and_links(tab: Tab) -> None:
    company_id = tab.company("Acme", email="crm@acme.example")
    erp_key = tab.customer("Acme A/S", email="erp@acme.example")
    tab.customer("Other Ltd")
    page = tab.carla.get(tab.url(company_id)).text
    assert "Not linked to the ERP." in page
    assert "Connect to ERP Customer" in page
    search = tab.carla.get(tab.url(company_id, "/search?actor_type=customer"))
    assert "1 hit" in search.text
    assert "1 hits" not in search.text
    assert "Acme A/S" in search.text
    assert "Other Ltd" not in search.text
    advanced = tab.carla.get(
        tab.url(company_id, "/search"),
        params={
            "actor_type": "customer",
            "advanced": "true",
            "field.0": "name",
            "operator.0": "ends",
            "value.0": "ltd",
        },
    )
    assert "Other Ltd" in advanced.text
    assert "Acme A/S" not in advanced.text
    # The search answers with the criteria as asked: the operator comes back chosen for the field's type only.
    again = tab.carla.get(
        tab.url(company_id, "/search"),
        params={"actor_type": "customer", "advanced": "true", "field.0": "name", "operator.0": "=", "value.0": "x"},
    )
    operator_select = re.search(r'<select[^>]*name="operator\.0".*?</select>', again.text, re.S)
    assert operator_select is not None
    chosen = re.findall(r'<option value="([^"]*)" data-types="([^"]*)" selected>', operator_select.group(0))
    assert chosen == [("=", "text")]
    wrong = tab.carla.get(
        tab.url(company_id, "/search"),
        params={"actor_type": "customer", "advanced": "true", "field.0": "name", "operator.0": ">", "value.0": "a"},
    )
    assert wrong.status_code == 422
    assert "does not apply to text field" in wrong.text
    danish = tab.carla.get(
        tab.url(company_id, "/search"),
        params={"actor_type": "customer", "advanced": "true", "field.0": "name", "operator.0": ">", "value.0": "a"},
        headers={"Accept-Language": "da"},
    )
    assert "passer ikke til tekst-feltet" in html.unescape(danish.text), "the criteria's problem in Danish"
    picked = tab.carla.post(tab.url(company_id, "/connect"), {"actor_type": "customer", "erp_key": erp_key})
    assert "Choose the values to keep" in picked.text
    assert re.search(r'name="winner.NAME" value="crm" required', picked.text)
    missing = tab.carla.post(
        tab.url(company_id, "/connect"), {"actor_type": "customer", "erp_key": erp_key, "stage": "winners"}
    )
    assert missing.status_code == 422
    chosen = {"winner.NAME": "erp", "winner.EMAIL": "crm"}
    body = {"actor_type": "customer", "erp_key": erp_key, "stage": "winners", **chosen}
    assert tab.carla.post(tab.url(company_id, "/connect"), body).status_code == 303
    assert tab.erp(erp_key)["email"] == "crm@acme.example"
    linked = tab.carla.get(tab.url(company_id)).text
    assert "Acme A/S" in linked
    assert "crm@acme.example" in linked
    assert re.search(r'<span class="badge state-ok">in sync</span>', linked)


def test_an_erp_field_on_the_tab_reads_in_the_users_language_label_and_value(tab: Tab) -> None:
    rows = CUSTOMER_ROWS | {"blocked": {"show_in_tab": "on"}}
    base = f"{TAB}/connections/{tab.connection_id}"
    assert tab.admin.post(f"{base}/mappings?actor_type=customer", mapping_form(True, rows)).status_code == 303
    company_id = tab.company("Acme")
    erp_key = tab.customer("Acme", blocked=True)
    connect = {"actor_type": "customer", "erp_key": erp_key}
    assert tab.carla.post(tab.url(company_id, "/connect"), connect).status_code == 303
    shown = r'data-erp-field="blocked"><dt>{}</dt><dd>{}</dd>'
    assert re.search(shown.format("Blocked", "Yes"), tab.carla.get(tab.url(company_id)).text)
    danish = tab.carla.get(tab.url(company_id), headers={"Accept-Language": "da"}).text
    assert re.search(shown.format("Spærret", "Ja"), danish), "the connector's label and the hub's value in Danish"


def test_sync_now_shows_its_result_and_disconnect_removes_the_link(tab: Tab) -> None:
    company_id = tab.company("Acme")
    erp_key = tab.customer("Acme")
    assert (
        tab.carla.post(tab.url(company_id, "/connect"), {"actor_type": "customer", "erp_key": erp_key}).status_code
        == 303
    )
    edited = tab.carla.post(f"/companies/{company_id}/edit", {"name": "Acme Nordic"})
    assert edited.status_code == 303, edited.text
    synced = tab.carla.post(tab.url(company_id, "/sync"))
    assert "Changed in the ERP: name." in synced.text
    assert tab.erp(erp_key)["name"] == "Acme Nordic"
    assert "Both sides agree: nothing changed." in tab.carla.post(tab.url(company_id, "/sync")).text
    assert "Only the link is removed" in tab.carla.get(tab.url(company_id, "/disconnect")).text
    assert tab.carla.post(tab.url(company_id, "/disconnect")).status_code == 303
    assert "Not linked to the ERP." in tab.carla.get(tab.url(company_id)).text
    assert tab.erp(erp_key)["name"] == "Acme Nordic"  # nothing deleted in the ERP


def test_create_in_erp_asks_for_the_mandatory_defaults(tab: Tab) -> None:
    company_id = tab.company("Newco", email="hi@newco.example")
    form = tab.carla.get(tab.url(company_id, "/create?actor_type=customer")).text
    assert re.search(r'<select id="create-currency" name="value.currency" required>', form)
    assert "Danish krone" in form
    refused = tab.carla.post(tab.url(company_id, "/create?actor_type=customer"), {"value.currency": ""})
    assert refused.status_code == 422
    assert "currency is mandatory" in refused.text
    erp_key = _created(tab, company_id, {"value.currency": "DKK"})
    assert tab.erp(erp_key)["currency"] == "DKK"
    assert tab.erp(erp_key)["payment_terms"] == "NET30"


def _created(tab: Tab, company_id: int, answers: dict[str, str]) -> str:
    """Create the company's customer in the ERP from its ERP tab with ``answers``; the new customer's key, as the tab
    then shows it."""
    created = tab.carla.post(tab.url(company_id, "/create?actor_type=customer"), answers)
    assert created.status_code == 303, created.text
    erp_key = re.search(r"Customer (\S+)</dd>", tab.carla.get(tab.url(company_id)).text)
    assert erp_key
    return erp_key.group(1)


def _asking_for_name(tab: Tab) -> None:
    """Customer defaults that ask for the currency (mandatory) and the name, and fix the payment terms."""
    defaults = {"ask.currency": "on", "mandatory.currency": "on", "value.payment_terms": "NET30", "ask.name": "on"}
    url = f"{TAB}/connections/{tab.connection_id}/defaults?actor_type=customer"
    assert tab.admin.post(url, defaults).status_code == 303


def test_health_shows_counts_runs_and_field_diffs(tab: Tab) -> None:
    company_id = tab.company("Acme")
    erp_key = tab.customer("Acme")
    tab.carla.post(tab.url(company_id, "/connect"), {"actor_type": "customer", "erp_key": erp_key})
    tab.sample.erp.update_actor(COMPANY, m.ActorType.CUSTOMER, erp_key, {"email": "new@acme.example"})
    ran = tab.admin.post(f"{TAB}/connections/{tab.connection_id}/sync")
    assert "Completed" in ran.text, ran.text
    health = tab.admin.get(f"{TAB}/connections/{tab.connection_id}/health").text
    assert re.search(r'data-count="in_sync">1<', health)
    assert "No failing records." in health
    run_id = re.findall(r'href="/settings/sync/runs/(\d+)"', health)[0]
    events = tab.admin.get(f"{TAB}/runs/{run_id}").text
    assert re.search(
        r"<th scope=\"row\">email</th>\s*<td><del>\u2013</del></td>\s*<td><ins>new@acme.example</ins></td>", events
    )
    assert tab.carla.get(f"{TAB}/runs/{run_id}").status_code == 403


def test_the_tab_and_health_say_whether_a_connection_syncs_live_or_on_the_schedule(tab: Tab) -> None:
    company_id = tab.company("Acme")
    health_url = f"{TAB}/connections/{tab.connection_id}/health"
    assert 'data-live="scheduled"' in tab.carla.get(tab.url(company_id)).text
    assert 'data-live="scheduled"' in tab.admin.get(health_url).text
    live.mark_live(tab.site.database, tab.connection_id, "a watcher", seconds=60)  # as a watch that answered does
    tab_page = tab.carla.get(tab.url(company_id)).text
    assert re.search(r'data-live="live"[^>]*>Live<', tab_page)
    assert 'data-live="live"' in tab.admin.get(health_url).text
    live.unmark_live(tab.site.database, tab.connection_id, "a watcher")  # as a watch that failed does
    assert 'data-live="scheduled"' in tab.admin.get(health_url).text


def test_project_hits_show_names_without_fields_marked_and_page_past_fifty(tab: Tab) -> None:
    """With no field ticked *Show in search* a hit shows the ERP's number and name, not the number alone; more than
    one page of hits can be paged through."""
    project = {"name": {"crm_field": "NAME", "direction": "both"}}
    url = f"{TAB}/connections/{tab.connection_id}/mappings?actor_type=project"
    assert tab.admin.post(url, mapping_form(True, project)).status_code == 303
    for index in range(1, 62):
        tab.sample.erp.create_actor(COMPANY, m.ActorType.PROJECT, NewRecord(values={"name": f"Apollo {index:02}"}))
    created = tab.carla.post("/projects/new", {"name": "Apollo"})
    assert created.status_code == 303, created.text
    search = created.headers["location"] + f"/erp/{tab.connection_id}/search"
    first = tab.carla.get(search, params={"actor_type": "project"}).text
    assert "Hits 1\u201350" in first
    assert re.findall(r'<th scope="col">(\w+)</th>', first) == ["Number", "Name"]
    assert "Apollo 01" in first
    assert "Apollo 51" not in first
    assert "Previous page" not in first
    next_url = re.search(r'href="([^"]+)" hx-get="[^"]+" hx-target="#dialog-host" rel="next"', first)
    assert next_url is not None
    second = tab.carla.get(next_url.group(1).replace("&amp;", "&")).text
    assert "Hits 51\u201361" in second
    assert "Apollo 51" in second
    assert "Apollo 61" in second
    assert "Apollo 50" not in second
    assert 'rel="prev"' in second
    assert 'rel="next"' not in second


def test_dates_numbers_and_last_sync_read_as_the_users_language_writes_them(tab: Tab) -> None:
    rows = CUSTOMER_ROWS | {"created": {"show_in_tab": "on"}, "credit_limit": {"show_in_tab": "on"}}
    base = f"{TAB}/connections/{tab.connection_id}"
    assert tab.admin.post(f"{base}/mappings?actor_type=customer", mapping_form(True, rows)).status_code == 303
    company_id = tab.company("Acme")
    erp_key = tab.customer("Acme", credit_limit=1234567.5)
    connect = {"actor_type": "customer", "erp_key": erp_key}
    assert tab.carla.post(tab.url(company_id, "/connect"), connect).status_code == 303
    assert tab.carla.post(tab.url(company_id, "/sync")).status_code == 200
    created = tab.erp(erp_key)["created"]
    assert isinstance(created, str)
    assert "T" in created, "the ERP sends an ISO 8601 moment"
    english = tab.carla.get(tab.url(company_id), headers={"Accept-Language": "en"}).text
    danish = tab.carla.get(tab.url(company_id), headers={"Accept-Language": "da"}).text
    field = r'data-erp-field="{}"><dt>[^<]+</dt><dd>([^<]+)</dd>'
    assert re.findall(field.format("credit_limit"), english) == ["1,234,567.5"]
    assert re.findall(field.format("credit_limit"), danish) == ["1.234.567,5"]
    assert created not in english
    assert re.search(r"\d{4}, \d\d:\d\d:\d\d UTC", re.findall(field.format("created"), english)[0])
    last_sync = r"<dt>{}</dt><dd>([^<]+)</dd>"
    assert re.search(r"\d{4}, \d\d:\d\d:\d\d UTC$", re.findall(last_sync.format("Last sync"), english)[0])
    assert re.search(r"\d{4} \d\d\.\d\d\.\d\d UTC$", re.findall(last_sync.format("Seneste synkronisering"), danish)[0])


def test_saved_feedback_after_adding_a_connector_a_connection_and_toggling_active(tab: Tab) -> None:
    page = tab.admin.get(f"{TAB}?saved=connector").text
    assert 'role="status" data-toast>The Sync Connector is saved.' in page
    switched = tab.admin.post(f"{TAB}/connections/{tab.connection_id}/active", {})
    assert switched.headers["location"] == f"{TAB}?saved=inactive"
    assert "The connection is switched off" in tab.admin.get(switched.headers["location"]).text
    switched = tab.admin.post(f"{TAB}/connections/{tab.connection_id}/active", {"active": "on"})
    assert switched.headers["location"] == f"{TAB}?saved=active"
    added = add_connection(tab.admin, tab.sample, name="Second")  # the redirects to ?saved=... are checked there
    assert added > tab.connection_id
    assert 'role="status" data-toast>The ERP connection is saved.' in tab.admin.get(f"{TAB}?saved=connection").text
    danish = tab.admin.get(f"{TAB}?saved=active", headers={"Accept-Language": "da"}).text
    assert re.search(r'role="status" data-toast>[^<]*(aktiv|Aktiv)', danish)


def test_a_persons_card_links_to_its_company(tab: Tab) -> None:
    company_id = tab.company("Acme")
    created = tab.carla.post("/persons/new", {"first_name": "Ann", "last_name": "Berg", "company_id": str(company_id)})
    assert created.status_code == 303, created.text
    card = tab.carla.get(created.headers["location"]).text
    assert f'<a href="/companies/{company_id}" data-company-link>Acme</a>' in card


def test_asking_for_a_mapped_mandatory_field_prefills_it_from_the_crm_record(tab: Tab) -> None:
    """*Ask the user* on Name, which the CRM record gives: the dialog offers the company's name, not an empty box, and
    a create left as offered sends it and leaves the CRM record as it was."""
    _asking_for_name(tab)
    company_id = tab.company("Newco")
    form = tab.carla.get(tab.url(company_id, "/create?actor_type=customer")).text
    assert '<input id="create-name" name="value.name" value="Newco" type="text" required>' in form
    assert re.search(r'<option value="DKK"[^>]*>', form)
    assert not re.search(r'<option value="[^"]+" selected', form), "a field the record does not give keeps its default"
    erp_key = _created(tab, company_id, {"value.currency": "DKK", "value.name": "Newco"})
    assert tab.erp(erp_key)["name"] == "Newco"
    assert "<h1>Newco</h1>" in tab.carla.get(f"/companies/{company_id}").text


def test_a_changed_prefilled_value_updates_the_crm_only_when_ticked(tab: Tab) -> None:
    _asking_for_name(tab)
    kept, renamed = tab.company("Newco"), tab.company("Oldco")
    form = tab.carla.get(tab.url(kept, "/create?actor_type=customer")).text
    assert '<input type="checkbox" name="update_crm.name" value="1"> Also update the CRM with this value' in form
    assert "update_crm.currency" not in form, "only a value taken from the record offers it"
    danish = tab.carla.get(tab.url(kept, "/create?actor_type=customer"), headers={"Accept-Language": "da"}).text
    assert "Opdatér også CRM med denne værdi" in danish
    for company_id, ticked in ((kept, {}), (renamed, {"update_crm.name": "1"})):
        erp_key = _created(tab, company_id, {"value.currency": "DKK", "value.name": "Typed A/S", **ticked})
        assert tab.erp(erp_key)["name"] == "Typed A/S"
    assert "<h1>Newco</h1>" in tab.carla.get(f"/companies/{kept}").text
    assert "<h1>Typed A/S</h1>" in tab.carla.get(f"/companies/{renamed}").text
