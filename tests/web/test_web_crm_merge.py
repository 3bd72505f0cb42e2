"""The Merge dialog of companies and persons over real HTTP, in English and Danish: find the other record, pick the
record and values to keep, and read what the merge did."""

from __future__ import annotations

import re

import pytest

from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.sync import links

from .conftest import Browser, Site
from .test_web_erp_tab import TAB, Tab, tab  # noqa: F401  (the fixture: an active connection, carla and an admin)


@pytest.fixture
def carla(site: Site) -> Browser:
    site.add_user("carla")
    return site.signed_in("carla")


def _new(carla: Browser, segment: str, **form: object) -> int:
    created = carla.post(f"/{segment}/new", form)
    assert created.status_code == 303, created.text
    match = re.fullmatch(r"/\w+/(\d+)", created.headers["location"])
    assert match
    return int(match.group(1))


def test_merge_two_companies_in_english(carla: Browser, site: Site) -> None:
    acme = _new(carla, "companies", name="Acme")
    other = _new(carla, "companies", name="Acme Ltd", email="b@acme.test")
    person = _new(carla, "persons", first_name="Bo", company_id=other)
    assert f'href="/companies/{acme}/merge"' in carla.get(f"/companies/{acme}").text
    found = carla.get(f"/companies/{acme}/merge", params={"q": "acme"}).text
    assert f"?other_id={other}" in found
    assert f"?other_id={acme}" not in found  # never the record itself
    dialog = carla.get(f"/companies/{acme}/merge", params={"other_id": other}).text
    assert "Record to keep" in dialog
    assert re.search(r'name="value.email" value="other" checked> b@acme.test', dialog)  # a blank is filled
    assert re.search(r'name="value.name" value="this" checked> Acme<', dialog)
    done = carla.post(f"/companies/{acme}/merge", {"other_id": other, "survivor": "this", "value.name": "other"})
    assert done.status_code == 200, done.text
    assert "Merged into Acme Ltd" in done.text
    assert "Persons moved: 1" in done.text
    assert "ERP links moved: 0" in done.text
    with site.database.read_session() as session:
        company = service.get_entity(session, EntityType.COMPANY, acme)
        assert (company.name, company.email) == ("Acme Ltd", "b@acme.test")  # type: ignore[attr-defined]
        assert service.get_entity(session, EntityType.PERSON, person).company_id == acme  # type: ignore[attr-defined]
    assert carla.get(f"/companies/{other}").status_code == 404


def test_an_inactive_duplicate_is_offered_for_merging_and_its_flag_shown_as_yes_or_no(carla: Browser) -> None:
    acme = _new(carla, "companies", name="Acme")
    old = _new(carla, "companies", name="Acme Old")
    carla.post(f"/companies/{old}/edit", {"name": "Acme Old", "active.shown": "1"})  # unticked: inactive
    found = carla.get(f"/companies/{acme}/merge", params={"q": "acme"}).text
    assert f"?other_id={old}" in found
    dialog = carla.get(f"/companies/{acme}/merge", params={"other_id": old}).text
    assert re.search(r'name="value.active" value="this" checked> Yes</label>', dialog)
    assert re.search(r'name="value.active" value="other"> No</label>', dialog)


def test_merge_persons_in_danish_keeping_the_other_record(carla: Browser, site: Site) -> None:
    carla.post("/language", {"language": "da", "next": "/persons"})
    ann = _new(carla, "persons", first_name="Ann", email="ann@x.test")
    anne = _new(carla, "persons", first_name="Anne", last_name="Berg")
    assert "Flet</a>" in carla.get(f"/persons/{ann}").text
    dialog = carla.get(f"/persons/{ann}/merge", params={"other_id": anne}).text
    assert "Post der beholdes" in dialog
    refused = carla.post(f"/persons/{ann}/merge", {"other_id": ann})
    assert refused.status_code == 422
    assert "Ikke flettet" in refused.text
    done = carla.post(f"/persons/{ann}/merge", {"other_id": anne, "survivor": "other", "value.first_name": "this"})
    assert "Flettet ind i Ann Berg" in done.text
    with site.database.read_session() as session:
        kept = service.get_entity(session, EntityType.PERSON, anne)
        values = (kept.first_name, kept.last_name, kept.email)  # type: ignore[attr-defined]
    assert values == ("Ann", "Berg", "ann@x.test")
    assert carla.get(f"/persons/{ann}").status_code == 404
    assert carla.get("/projects/1/merge").status_code == 404


def test_two_links_in_one_connection_are_reported_and_listed_among_the_problems(tab: Tab) -> None:  # noqa: F811
    kept, other = tab.company("Acme"), tab.company("Acme Ltd")
    kept_key, other_key = tab.customer("Acme"), tab.customer("Acme Ltd")
    for company_id, erp_key in ((kept, kept_key), (other, other_key)):
        linked = tab.carla.post(tab.url(company_id, "/connect"), {"actor_type": "customer", "erp_key": erp_key})
        assert linked.status_code in (200, 303), linked.text
    done = tab.carla.post(f"/companies/{kept}/merge", {"other_id": other, "survivor": "this"}).text
    assert "ERP links moved: 0" in done
    assert re.search(rf"data-merge-conflict>.*link to ERP record {kept_key} stays.*{other_key} is now broken", done)
    health = tab.admin.get(f"{TAB}/connections/{tab.connection_id}/health").text
    assert "Left behind by a CRM merge" in health
    assert re.search(r'data-count="broken">1<', health)


def test_linked_records_merge_only_for_users_who_see_every_connection_they_are_linked_in(
    tab: Tab,  # noqa: F811
) -> None:
    tab.site.add_user("dora", licences=("erp",))  # licensed, but the connection is shown to carla only
    tab.site.add_user("erik")  # no ERP licence
    kept, other = tab.company("Nordlys"), tab.company("Nordlys ApS")
    erp_key = tab.customer("Nordlys ApS")
    linked = tab.carla.post(tab.url(other, "/connect"), {"actor_type": "customer", "erp_key": erp_key})
    assert linked.status_code in (200, 303), linked.text
    form = {"other_id": other, "survivor": "this"}

    hidden = tab.site.signed_in("dora").post(f"/companies/{kept}/merge", form)
    assert hidden.status_code == 403
    assert "linked in ERP connections you cannot see" in hidden.text
    assert ">Main<" not in hidden.text  # the connection is not named
    erik = tab.site.signed_in("erik")
    erik.post("/language", {"language": "da", "next": "/companies"})
    unlicensed = erik.post(f"/companies/{kept}/merge", form)
    assert unlicensed.status_code == 403
    assert "kræver ERP-licensen" in unlicensed.text
    with tab.site.database.read_session() as session:  # nothing changed
        assert [link.erp_key for link in links.links_of_entity(session, EntityType.COMPANY, other)] == [erp_key]
        assert service.get_entity(session, EntityType.COMPANY, other).name == "Nordlys ApS"  # type: ignore[attr-defined]

    done = tab.carla.post(f"/companies/{kept}/merge", form)
    assert "ERP links moved: 1" in done.text
