"""Company, person and project screens over real HTTP: list, search, paging, view, create, edit, delete."""

from __future__ import annotations

import re

import pytest

from erpsync.crm import lists
from erpsync.crm.fields import CrmList

from .conftest import Browser, Site

DASH = "\N{EN DASH}"  # the paging line reads "first DASH last of total"


@pytest.fixture
def carla(site: Site) -> Browser:
    site.add_user("carla")
    return site.signed_in("carla")


def _created_id(answer_location: str) -> int:
    match = re.fullmatch(r"/\w+/(\d+)", answer_location)
    assert match, answer_location
    return int(match.group(1))


def test_create_view_edit_and_delete_a_company(carla: Browser, site: Site) -> None:
    with site.database.session() as session:
        denmark = lists.add_item(session, CrmList.COUNTRY, label="Denmark").id
    created = carla.post("/companies/new", {"name": "Acme A/S", "email": "info@acme.example", "country_id": denmark})
    assert created.status_code == 303, created.text
    company_id = _created_id(created.headers["location"])
    view = carla.get(f"/companies/{company_id}").text
    assert "Acme A/S" in view
    assert "Denmark" in view  # list values are shown by label
    assert re.search(r"<p class=\"hint\">Last changed \d+ \w+ \d{4}, \d\d:\d\d:\d\d UTC</p>", view), "one time zone"
    danish = carla.get(f"/companies/{company_id}", headers={"Accept-Language": "da"}).text
    assert re.search(r"<p class=\"hint\">Sidst ændret \d+\. \w+ \d{4} \d\d\.\d\d\.\d\d UTC</p>", danish)
    edit = carla.get(f"/companies/{company_id}/edit").text
    assert f'<option value="{denmark}" selected>Denmark</option>' in edit
    changed = carla.post(f"/companies/{company_id}/edit", {"name": "Acme Nordic A/S", "country_id": ""})
    assert changed.status_code == 303
    view = carla.get(f"/companies/{company_id}").text
    assert "Acme Nordic A/S" in view
    assert "Denmark" not in view
    assert "Delete Acme Nordic A/S?" in carla.get(f"/companies/{company_id}/delete").text
    assert carla.post(f"/companies/{company_id}/delete").headers["location"] == "/companies"
    assert carla.get(f"/companies/{company_id}").status_code == 404


def test_validation_errors_are_shown_next_to_their_field_and_nothing_is_saved(carla: Browser) -> None:
    nameless = carla.post("/companies/new", {"name": "", "phone": "123"})
    assert nameless.status_code == 422
    assert '<p class="field-error" id="field-name-error">Required.</p>' in nameless.text
    assert 'value="123"' in nameless.text  # the other values stay as typed
    too_long = carla.post("/companies/new", {"name": "Acme", "number1": "9" * 65})
    assert '<p class="field-error" id="field-number1-error">At most 64 characters.</p>' in too_long.text
    bad_date = carla.post("/persons/new", {"first_name": "Ada", "birth_date": "yesterday"})
    assert '<p class="field-error" id="field-birth_date-error">Enter a date as YYYY-MM-DD.</p>' in bad_date.text
    no_such_item = carla.post("/projects/new", {"name": "Roof", "status_id": "999"})
    assert 'id="field-status_id-error">Not valid: no item 999 in the project_status list' in no_such_item.text
    assert "Nothing found." in carla.get("/companies").text
    assert "Nothing found." in carla.get("/projects").text


def test_an_edit_that_clears_the_name_is_refused(carla: Browser) -> None:
    company_id = _created_id(carla.post("/companies/new", {"name": "Acme"}).headers["location"])
    refused = carla.post(f"/companies/{company_id}/edit", {"name": "  "})
    assert refused.status_code == 422
    assert 'id="field-name-error">Not valid: must not be empty' in refused.text
    assert "Acme" in carla.get(f"/companies/{company_id}").text


def test_a_person_belongs_to_a_company_shown_by_name(carla: Browser) -> None:
    company_id = _created_id(carla.post("/companies/new", {"name": "Acme"}).headers["location"])
    created = carla.post("/persons/new", {"first_name": "Ada", "last_name": "Lovelace", "company_id": company_id})
    person_id = _created_id(created.headers["location"])
    assert "Ada Lovelace" in carla.get(f"/persons/{person_id}").text
    listing = carla.get("/persons").text
    assert re.search(r"Ada Lovelace</a></th>\s*<td>Acme</td>", listing)


def test_search_and_paging(carla: Browser) -> None:
    for number in range(30):
        carla.post("/projects/new", {"name": f"Project {number:02d}"})
    carla.post("/projects/new", {"name": "Roof repair"})
    first = carla.get("/projects").text
    assert f"1{DASH}25 of 31" in first
    assert 'rel="next"' in first
    second = carla.get("/projects?page=2").text
    assert f"26{DASH}31 of 31" in second
    assert "Roof repair" in second
    found = carla.get("/projects?q=roof").text
    assert f"1{DASH}1 of 1" in found
    assert "Project 00" not in found


def test_an_unknown_record_is_a_404_page(carla: Browser) -> None:
    missing = carla.get("/persons/4242")
    assert missing.status_code == 404
    assert "does not exist" in missing.text


def test_the_active_flag_is_edited_marked_and_left_out_of_the_list_unless_shown(carla: Browser, site: Site) -> None:
    form = carla.get("/companies/new").text
    assert 'name="active" type="checkbox" checked' in form  # a new record starts active
    company_id = _created_id(
        carla.post("/companies/new", {"name": "Acme", "active": "on", "active.shown": "1"}).headers["location"]
    )
    assert 'data-active="true">Yes</dd>' in carla.get(f"/companies/{company_id}").text
    unticked = carla.post(f"/companies/{company_id}/edit", {"name": "Acme", "active.shown": "1"})  # unticked: nothing
    assert unticked.status_code == 303
    view = carla.get(f"/companies/{company_id}").text
    assert 'data-active="false">No</dd>' in view
    assert "data-inactive>Inactive</span>" in view
    assert 'name="active" type="checkbox">' in carla.get(f"/companies/{company_id}/edit").text
    assert "Acme" not in carla.get("/companies?q=acme").text.split("</form>", 1)[1]
    shown = carla.get("/companies?q=acme&inactive=1").text
    assert "data-inactive>Inactive</span>" in shown
    assert "checked data-show-inactive" in shown
    carla.post(f"/companies/{company_id}/edit", {"name": "Acme"})  # a form without the box leaves the flag alone
    assert 'data-active="false">No</dd>' in carla.get(f"/companies/{company_id}").text
    danish = carla.get(f"/companies/{company_id}", headers={"Accept-Language": "da"}).text
    assert 'data-active="false">Nej</dd>' in danish
    assert "data-inactive>Inaktiv</span>" in danish
