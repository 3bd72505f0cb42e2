"""The configure screens over real HTTP with the sample connector: mappings, list mapping, defaults, ranks, policy,
sync priority, activation refused with every reason then accepted, and the engine block."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select, update

from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList, EntityType
from erpsync.crm.service import create_record
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, ErpLink
from erpsync.sync import configuration, configuration_loading, links
from erpsync.sync.engine_settings import EngineSettings, engine_settings
from erpsync.testing.sample import RunningSample
from support.linking import link_company

from .conftest import (
    COUNTRY_KEYS,
    CUSTOMER_ROWS,
    Browser,
    Site,
    add_connection,
    configure_customers,
    crm_countries,
    mapping_form,
)

TAB = "/settings/sync"


@pytest.fixture
def admin(site: Site) -> Browser:
    site.add_user("admin", is_admin=True)
    return site.signed_in("admin")


@pytest.fixture
def connection_id(admin: Browser, sample: RunningSample) -> int:
    return add_connection(admin, sample)


def _mapping(site: Site, connection_id: int, actor_type: m.ActorType = m.ActorType.CUSTOMER) -> dict[str, object]:
    with site.database.session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection
        mapping = configuration_loading.mapping_of(session, connection, actor_type)
        return {row.erp_field: (row.crm_field, row.direction.value) for row in mapping.fields} | {
            "active": mapping.active
        }


def _row(page: str, erp_field: str) -> str:
    match = re.search(
        rf'<tr data-mapping-row[^>]*>(?:(?!</tr>).)*name="erp_field" value="{erp_field}"(?:(?!</tr>).)*</tr>',
        page,
        re.S,
    )
    assert match, erp_field
    return match.group(0)


def test_mappings_offer_compatible_crm_fields_and_directions_only_with_one(admin: Browser, connection_id: int) -> None:
    page = admin.get(f"{TAB}/connections/{connection_id}/mappings?actor_type=customer").text
    assert "Sync ERP Customer to CRM company" in page
    country = _row(page, "country")
    assert re.findall(r'<option value="([A-Z0-9_]+)"', country) == ["COUNTRY", "BUSINESS", "CATEGORY"]
    assert re.findall(r'<option value="([A-Z0-9_]+)"', _row(page, "blocked")) == ["ACTIVE"]  # checkbox: active flag
    employees = _row(page, "employees")  # auto-mapping found no CRM field: every direction disabled
    assert len(re.findall(r'name="direction.employees" value="\w+"[^>]*disabled', employees)) == 4
    number = _row(page, "number")  # read-only in the ERP: never towards it
    assert re.search(r'value="to_erp"[^>]*disabled data-read-only', number)
    assert not re.search(r'value="to_crm"[^>]*disabled', number)


def test_a_saved_mapping_is_stored_and_a_direction_without_crm_field_is_refused(
    admin: Browser, connection_id: int, site: Site
) -> None:
    url = f"{TAB}/connections/{connection_id}/mappings?actor_type=customer"
    saved = admin.post(url, mapping_form(True, CUSTOMER_ROWS))
    assert saved.status_code == 303
    assert _mapping(site, connection_id) == {
        "name": ("NAME", "both"),
        "email": ("EMAIL", "both"),
        "country": ("COUNTRY", "both"),
        "active": True,
    }
    bad = {"name": {"direction": "to_erp"}, "country": {"crm_field": "NAME", "direction": "both"}}
    refused = admin.post(url, mapping_form(False, bad))
    assert refused.status_code == 422
    assert "Not saved. 2 reasons:" in refused.text
    assert "customer.name: a direction needs a CRM field" in refused.text
    assert "customer.country: ERP field of type list cannot pair with NAME of type text" in refused.text
    assert _mapping(site, connection_id)["active"] is True  # nothing changed


def test_a_crm_item_used_twice_in_a_list_is_red_and_refused(admin: Browser, connection_id: int, site: Site) -> None:
    denmark, _sweden = crm_countries(site, "Denmark", "Sweden")
    admin.post(f"{TAB}/connections/{connection_id}/mappings?actor_type=customer", mapping_form(False, CUSTOMER_ROWS))
    url = f"{TAB}/connections/{connection_id}/list-mapping"
    page = admin.get(url).text
    assert re.search(r'<label for="item-1-1">Denmark</label> <span class="hint">DK</span>', page)
    refused = admin.post(url, {"item.country.DK": str(denmark), "item.country.SE": str(denmark)})
    assert refused.status_code == 422
    assert "country.SE: CRM item &#39;Denmark&#39; is paired with both &#39;DK&#39; and &#39;SE&#39;" in refused.text
    assert f"CRM item {denmark} " not in refused.text, "the item is named, not numbered"
    assert len(re.findall(r'class="duplicate" aria-invalid="true"', refused.text)) == 2
    assert admin.post(url, {"item.country.DK": str(denmark)}).status_code == 303
    assert re.search(rf'<option value="{denmark}" selected>Denmark</option>', admin.get(url).text)


def test_a_list_other_than_country_is_offered_and_mapped_before_its_field(
    admin: Browser, connection_id: int, site: Site
) -> None:
    """On an active connection a project status field can be mapped: its list is offered before the field is synced."""
    (denmark,) = crm_countries(site, "Denmark")
    with site.database.session() as session:
        planned, done = (crm_lists.add_item(session, CrmList.PROJECT_STATUS, label=x).id for x in ("Planned", "Done"))
    configure_customers(admin, connection_id, denmark)
    assert admin.post(f"{TAB}/connections/{connection_id}/active", {"active": "on"}).status_code == 303
    url = f"{TAB}/connections/{connection_id}/list-mapping"
    page = admin.get(url).text
    status = page.split('data-list="project_status"')[1].split("</fieldset>")[0]
    assert "ERP list project_status → Project status" in status
    assert re.search(r'<option value="project_status" selected>Project status</option>', status)
    assert re.search(rf'<option value="{planned}">Planned</option>', status)
    currency = page.split('data-list="currency"')[1].split("</fieldset>")[0]  # no CRM field pairs with it
    assert "Choose the CRM list this list pairs with" in currency
    items = {f"item.country.{key}": "" for key in COUNTRY_KEYS} | {"item.country.DK": str(denmark)}
    items |= {"item.project_status.PLANNED": str(planned), "item.project_status.DONE": str(done)}
    assert admin.post(url, items).status_code == 303, "a list offered, not yet used, is saved with its pairs"
    project = {
        "status": {"crm_field": "STATUS", "direction": "both"},
        "name": {"crm_field": "NAME", "direction": "both"},
    }
    saved = admin.post(f"{TAB}/connections/{connection_id}/mappings?actor_type=project", mapping_form(True, project))
    assert saved.status_code == 303, saved.text
    with site.database.session() as session:
        config = configuration_loading.load_config(session, session.get(ErpConnection, connection_id))  # type: ignore[arg-type]
    assert set(config.list_mappings) == {"country", "project_status"}, "lists left unpaired are not saved"
    assert config.list_mappings["project_status"].items["PLANNED"] == planned
    assert admin.post(url, {**items, "crm_list.project_status": ""}).status_code == 422, "the synced field needs it"
    chosen = admin.post(url, {**items, "crm_list.currency": "business"})
    assert chosen.status_code == 303, chosen.text
    currency = admin.get(url).text.split('data-list="currency"')[1].split("</fieldset>")[0]
    assert "ERP list currency → Business" in currency
    assert 'name="item.currency.DKK"' in currency


def test_activation_is_refused_with_every_reason_then_accepted(admin: Browser, connection_id: int, site: Site) -> None:
    active = f"{TAB}/connections/{connection_id}/active"
    refused = admin.post(active, {"active": "on"})
    assert refused.status_code == 409
    assert "no actor type is switched on" in refused.text
    only_country = mapping_form(True, {"country": CUSTOMER_ROWS["country"]})
    admin.post(f"{TAB}/connections/{connection_id}/mappings?actor_type=customer", only_country)
    (denmark,) = crm_countries(site, "Denmark")  # after the mapping: a CRM country then would pair by ISO code
    refused = admin.post(active, {"active": "on"})
    assert refused.status_code == 409
    assert "2 reasons" in refused.text
    reasons = re.findall(r"<li>([^<]+)</li>", refused.text.split('class="problems"')[1])
    assert reasons == [
        "customer.name: a mandatory ERP field needs a CRM→ERP direction or a default",
        "customer.country: list &#39;country&#39; has no list mapping",
    ]
    configure_customers(admin, connection_id, denmark)
    assert admin.post(active, {"active": "on"}).status_code == 303
    assert re.search(r'name="active" value="on" checked aria-label="Active: Main"', admin.get(TAB).text)
    assert admin.post(active, {}).status_code == 303
    with site.database.session() as session:
        assert session.scalars(select(ErpConnection.active)).one() is False


def test_the_reasons_of_a_refusal_read_in_danish(admin: Browser, connection_id: int) -> None:
    only_country = mapping_form(True, {"country": CUSTOMER_ROWS["country"]})
    admin.post(f"{TAB}/connections/{connection_id}/mappings?actor_type=customer", only_country)
    admin.post("/language", {"language": "da", "next": TAB})
    refused = admin.post(f"{TAB}/connections/{connection_id}/active", {"active": "on"})
    assert refused.status_code == 409
    assert "2 årsager" in refused.text
    reasons = re.findall(r"<li>([^<]+)</li>", refused.text.split('class="problems"')[1])
    assert reasons == [
        "customer.name: et obligatorisk ERP-felt kræver retningen CRM→ERP eller en standardværdi",
        "customer.country: listen &#39;country&#39; har ingen listetilknytning",
    ]
    bad = {"name": {"direction": "to_erp"}}
    saved = admin.post(f"{TAB}/connections/{connection_id}/mappings?actor_type=customer", mapping_form(False, bad))
    assert "customer.name: en retning kræver et CRM-felt" in saved.text


def test_defaults_keep_what_was_typed_and_name_a_value_of_the_wrong_kind(admin: Browser, connection_id: int) -> None:
    url = f"{TAB}/connections/{connection_id}/defaults?actor_type=customer"
    page = admin.get(url).text
    assert re.search(r'name="mandatory.name" value="on" checked disabled', page)  # the connector requires it
    assert '<option value="NET30">30 days net</option>' in page
    refused = admin.post(url, {"value.employees": "many", "value.org_number": "DK-1"})
    assert refused.status_code == 422
    assert '<p class="field-error" id="default-employees-error">Enter a whole number.</p>' in refused.text
    assert 'value="DK-1"' in refused.text
    assert (
        admin.post(url, {"value.employees": "12", "ask.currency": "on", "mandatory.currency": "on"}).status_code == 303
    )
    page = admin.get(url).text
    assert re.search(r'id="default-employees" name="value.employees" value="12"', page)
    assert re.search(r'name="ask.currency" value="on" checked', page)


def test_rank_fields_move_up_and_down(admin: Browser, connection_id: int, site: Site) -> None:
    url = f"{TAB}/connections/{connection_id}/ranks?actor_type=customer"
    first = re.findall(r'name="move" value="up:(\w+)"', admin.get(url).text)
    moved = admin.post(url, {"move": f"up:{first[2]}"})
    assert moved.status_code == 303
    after = re.findall(r'name="move" value="up:(\w+)"', admin.get(moved.headers["location"]).text)
    assert after[:3] == [first[0], first[2], first[1]]
    assert f'value="up:{first[2]}" class="small" autofocus' in admin.get(moved.headers["location"]).text


def test_sync_priority_and_policy(admin: Browser, sample: RunningSample, connection_id: int, site: Site) -> None:
    second = add_connection(admin, sample, name="Second")
    assert admin.post(f"{TAB}/priority", {"move": f"up:{second}"}).status_code == 303
    with site.database.session() as session:
        assert [c.id for c in configuration.priority_order(session)] == [second, connection_id]
    policy = f"{TAB}/connections/{connection_id}/policy"
    assert admin.post(policy, {"policy": "crm", "no_blank_overwrite": "on"}).status_code == 303
    assert re.search(r'value="crm" checked', admin.get(policy).text)
    assert admin.post(policy, {"policy": "loudest"}).status_code == 422


def test_the_engine_block_saves_on_off_and_interval(admin: Browser, site: Site) -> None:
    assert 'name="interval_minutes" type="number" min="1" step="1" inputmode="numeric" value="5"' in admin.get(TAB).text
    assert admin.post(f"{TAB}/engine", {"interval_minutes": "15"}).status_code == 303
    with site.database.session() as session:
        assert engine_settings(session) == EngineSettings(running=False, interval_seconds=900)
    refused = admin.post(f"{TAB}/engine", {"running": "on", "interval_minutes": "soon"})
    assert refused.status_code == 422
    assert "whole number of minutes" in refused.text


def test_configure_screens_are_for_administrators_only(site: Site, admin: Browser, connection_id: int) -> None:
    site.add_user("carla", licences=("erp",))
    carla = site.signed_in("carla")
    for path in ("mappings", "list-mapping", "defaults", "ranks", "policy", "health"):
        assert carla.get(f"{TAB}/connections/{connection_id}/{path}").status_code == 403
    assert carla.post(f"{TAB}/connections/{connection_id}/active", {"active": "on"}).status_code == 403
    assert admin.get(f"{TAB}/connections/{connection_id + 99}/mappings").status_code == 404


def _form_as_a_browser_submits(page: str) -> dict[str, str]:
    """The fields a browser sends for the page's form untouched: enabled inputs with their values (checkboxes when
    checked) and each enabled select's selected option."""
    sent: dict[str, str] = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name is None or " disabled" in tag or (('type="checkbox"' in tag) and " checked" not in tag):
            continue
        sent[name.group(1)] = value.group(1) if value else ""
    for element in re.findall(r"<select\b.*?</select>", page, re.S):
        name = re.search(r'name="([^"]+)"', element)
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', element)
        if name and " disabled" not in element.split(">", 1)[0]:
            sent[name.group(1)] = chosen.group(1) if chosen else ""
    return sent


def test_the_defaults_page_saves_untouched_when_the_mapping_gives_the_mandatory_fields(
    admin: Browser, site: Site, connection_id: int
) -> None:
    (denmark,) = crm_countries(site, "Denmark")
    configure_customers(admin, connection_id, denmark)  # name is mapped both ways: the CRM record gives it
    url = f"{TAB}/connections/{connection_id}/defaults?actor_type=customer"
    page = admin.get(url).text
    assert re.search(r'name="mandatory.name" value="on" checked disabled', page)
    saved = admin.post(url, _form_as_a_browser_submits(page))
    assert saved.status_code == 303, saved.text


def test_delete_policies_are_chosen_on_the_mapping_screen_with_the_preview_and_refusals_in_danish(
    admin: Browser, connection_id: int, site: Site
) -> None:
    url = f"{TAB}/connections/{connection_id}/mappings?actor_type=customer"
    page = admin.get(url).text
    assert re.search(r'<option value="keep" selected>Keep the CRM record and mark the link broken</option>', page)
    assert "Today 0 links are broken because their ERP record was deleted or is missing." in page
    form = mapping_form(False, CUSTOMER_ROWS) | {"erp_delete": "delete", "crm_delete": "deactivate_in_erp"}
    assert admin.post(url, form).status_code == 303
    with site.database.read_session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection
        stored = configuration_loading.mapping_of(session, connection, m.ActorType.CUSTOMER)
    assert (stored.erp_delete, stored.crm_delete) == ("delete", "deactivate_in_erp")
    page = admin.get(url).text
    assert re.search(r'<option value="deactivate_in_erp" selected>', page)
    admin.post("/language", {"language": "da", "next": TAB})
    deactivate = admin.post(url, mapping_form(False, CUSTOMER_ROWS) | {"erp_delete": "deactivate"})
    assert deactivate.status_code == 303  # every CRM entity has its active flag
    page = admin.get(url).text
    assert re.search(r'<option value="deactivate" selected>', page)
    assert 'Med "Deaktiver CRM-posten" ville næste synkronisering deaktivere 0 CRM-poster.' in html.unescape(page)
    project = f"{TAB}/connections/{connection_id}/mappings?actor_type=project"
    refused = admin.post(project, mapping_form(False, {}) | {"crm_delete": "deactivate_in_erp"})
    assert refused.status_code == 422
    assert "Sletninger" in refused.text
    assert "connectoren tilbyder intet skrivbart" in html.unescape(refused.text)


def _broken_customer_links(site: Site, connection_id: int, count: int) -> None:
    """``count`` CRM companies linked to ERP customers that are gone: broken links whose CRM record exists."""
    for n in range(count):
        with site.database.session() as session:
            company_id = create_record(session, EntityType.COMPANY, {"NAME": f"Gone {n}"}, changed_by="user:1").id
        link_id = link_company(site.database, connection_id, company_id, f"gone-{n}")
        with site.database.session() as session:
            session.execute(update(ErpLink).where(ErpLink.id == link_id).values(state=links.LinkState.BROKEN.value))


def test_the_delete_preview_follows_the_policy_chosen_before_it_is_saved(
    admin: Browser, connection_id: int, site: Site
) -> None:
    _broken_customer_links(site, connection_id, 2)
    url = f"{TAB}/connections/{connection_id}/mappings?actor_type=customer"
    page = admin.get(url).text
    select = re.search(r'<select id="erp-delete"[^>]*>', page)
    assert select, page
    preview_url = f"{TAB}/connections/{connection_id}/mappings/delete-preview?actor_type=customer"
    assert f'hx-get="{preview_url}"' in select.group(0)
    assert 'hx-trigger="change"' in select.group(0)
    assert 'hx-target="#delete-preview"' in select.group(0)
    assert '<p class="hint" id="delete-preview" data-delete-preview="keep"' in page  # the saved policy's effect first
    assert "the next sync leaves their CRM records as they are" in page
    said = {
        "keep": 'Today 2 links are broken because their ERP record was deleted or is missing. Under "Keep the CRM '
        'record and mark the link broken", the next sync leaves their CRM records as they are',
        "delete": 'Under "Delete the CRM record", the next sync would delete 2 CRM records.',
        "deactivate": 'Under "Deactivate the CRM record", the next sync would deactivate 2 CRM records.',
    }
    for policy, text in said.items():
        answer = admin.get(f"{preview_url}&erp_delete={policy}", headers={"HX-Request": "true"})
        assert answer.status_code == 200, answer.text
        assert f'data-delete-preview="{policy}"' in answer.text
        assert text in answer.text.replace("&#34;", '"')
        assert "<html" not in answer.text  # the fragment alone, swapped in place of the old preview
    assert admin.get(f"{preview_url}&erp_delete=explode").status_code == 422
    assert admin.get(f"{TAB}/connections/{connection_id}/mappings/delete-preview?erp_delete=keep").status_code == 200
    with site.database.read_session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection
        assert configuration_loading.mapping_of(session, connection, m.ActorType.CUSTOMER).erp_delete == "keep"
    admin.post("/language", {"language": "da", "next": TAB})
    danish = admin.get(f"{preview_url}&erp_delete=delete").text.replace("&#34;", '"')
    assert 'Med "Slet CRM-posten" ville næste synkronisering slette 2 CRM-poster.' in danish
