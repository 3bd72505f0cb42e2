"""The Sync tab over real HTTP against the sample connector: connector and connection dialogs, test before save."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from erpsync.connectors.sample.config import DEMO_HINT
from erpsync.storage.tables import AuditEntry, ErpConnection
from erpsync.testing.sample import RunningSample

from .conftest import Browser, Site

TAB = "/settings/sync"


@pytest.fixture
def admin(site: Site) -> Browser:
    site.add_user("admin", is_admin=True)
    return site.signed_in("admin")


def _add_connector(admin: Browser, sample: RunningSample, name: str = "Sample") -> int:
    added = admin.post(f"{TAB}/connectors/new", {"name": name, "url": sample.url, "secret": sample.secret})
    assert added.status_code == 303, added.text
    match = re.search(r"/settings/sync/connectors/(\d+)/edit", admin.get(TAB).text)
    assert match
    return int(match.group(1))


def _connection_form(connector_id: int, sample: RunningSample, **changes: Any) -> dict[str, Any]:
    form = {"name": "Main", "connector_id": connector_id, "visibility": "everyone", "description": "Head office"}
    form.update({f"config.{key}": value for key, value in sample.config.items()})
    form.update(changes)
    return form


def test_adding_a_connector_lists_it_and_never_shows_the_secret(admin: Browser, sample: RunningSample) -> None:
    _add_connector(admin, sample)
    page = admin.get(TAB).text
    assert "Sample" in page
    assert sample.url in page
    assert sample.secret not in page
    assert sample.secret not in admin.get(f"{TAB}/connectors/1/edit").text


def test_a_url_that_is_not_a_connector_is_refused_with_the_reason(admin: Browser, site: Site) -> None:
    refused = admin.post(f"{TAB}/connectors/new", {"name": "Bad", "url": site.url, "secret": "s" * 20})
    assert refused.status_code == 422
    assert "does not answer as an erpsync connector" in refused.text
    assert 'value="Bad"' in refused.text  # what was typed stays in the dialog
    assert "Bad" not in admin.get(TAB).text


def test_connector_validation_errors_are_shown_in_the_dialog(admin: Browser, sample: RunningSample) -> None:
    short = admin.post(f"{TAB}/connectors/new", {"name": "Sample", "url": sample.url, "secret": "short"})
    assert short.status_code == 422
    assert "at least 16 characters" in short.text
    nameless = admin.post(f"{TAB}/connectors/new", {"name": "", "url": sample.url, "secret": sample.secret})
    assert "needs a name" in nameless.text


def test_the_connection_dialog_renders_a_widget_per_config_field(admin: Browser, sample: RunningSample) -> None:
    _add_connector(admin, sample)
    dialog = admin.get(f"{TAB}/connections/new").text
    assert re.search(r'<select id="config-company" name="config.company"[^>]*data-mandatory', dialog)
    assert '<option value="NORDIC">Nordic Trading A/S</option>' in dialog
    assert re.search(r'<input id="config-user" name="config.user" type="text" value="" maxlength="64"', dialog)
    assert re.search(r'<input id="config-password" name="config.password" type="password"', dialog)
    assert re.search(r'name="config.page_size" type="number" value="200" step="1"', dialog)
    assert re.search(r'name="config.default_credit_limit" type="number" value="0.0" step="any"', dialog)
    assert re.search(r'name="config.include_inactive" type="checkbox"', dialog)
    assert re.search(r'name="config.sync_from" type="datetime-local"', dialog)
    assert DEMO_HINT.replace("'", "&#39;") in dialog
    assert re.search(r"data-ok-button disabled", dialog)
    assert 'name="visibility" value="everyone" checked' in dialog
    assert re.search(r'name="visible_users" value="\d+"> Admin</label>', dialog)  # the users-and-groups picker


def test_test_connection_answers_with_the_connectors_message(admin: Browser, sample: RunningSample) -> None:
    connector_id = _add_connector(admin, sample)
    passed = admin.post(f"{TAB}/connections/test", _connection_form(connector_id, sample))
    assert 'data-test-passed="true"' in passed.text
    wrong = _connection_form(connector_id, sample, **{"config.password": "wrong"})
    failed = admin.post(f"{TAB}/connections/test", wrong)
    assert 'data-test-passed="false"' in failed.text
    assert "The ERP refused the user name or password." in failed.text


def test_a_value_of_the_wrong_kind_is_marked_on_its_field(admin: Browser, sample: RunningSample) -> None:
    connector_id = _add_connector(admin, sample)
    form = _connection_form(connector_id, sample, **{"config.page_size": "many"})
    tested = admin.post(f"{TAB}/connections/test", form)
    assert 'data-test-passed="false"' in tested.text
    saved = admin.post(f"{TAB}/connections/new", form)
    assert saved.status_code == 422
    assert '<p class="field-error" id="config-page_size-error">Enter a whole number.</p>' in saved.text


def test_save_runs_the_test_again_and_refuses_a_failing_config(
    admin: Browser, sample: RunningSample, site: Site
) -> None:
    connector_id = _add_connector(admin, sample)
    refused = admin.post(f"{TAB}/connections/new", _connection_form(connector_id, sample, **{"config.password": "x"}))
    assert refused.status_code == 422
    assert "Test connection failed: The ERP refused the user name or password." in refused.text
    missing = admin.post(f"{TAB}/connections/new", _connection_form(connector_id, sample, **{"config.user": ""}))
    assert "User: required" in missing.text
    with site.database.session() as session:
        assert session.scalars(select(ErpConnection)).all() == []


def test_refused_config_values_are_worded_in_danish(admin: Browser, sample: RunningSample, site: Site) -> None:
    connector_id = _add_connector(admin, sample)
    admin.post("/language", {"language": "da", "next": TAB})
    form = _connection_form(connector_id, sample, **{"config.user": ""})
    missing = admin.post(f"{TAB}/connections/new", form)
    assert missing.status_code == 422
    assert re.search(r"Ugyldig opsætning: [^<:]+: skal udfyldes", missing.text), missing.text
    assert ": required" not in missing.text
    tested = admin.post(f"{TAB}/connections/test", form)
    assert "skal udfyldes" in tested.text
    with site.database.session() as session:
        assert session.scalars(select(ErpConnection)).all() == []
    assert admin.post(f"{TAB}/connections/new", _connection_form(connector_id, sample)).status_code == 303
    taken = admin.post(f"{TAB}/connections/new", _connection_form(connector_id, sample))
    assert taken.status_code == 422
    assert "Der findes allerede en ERP-forbindelse med navnet &#39;Main&#39;." in taken.text


def test_a_saved_connection_is_listed_inactive_with_its_actor_types(
    admin: Browser, sample: RunningSample, site: Site
) -> None:
    connector_id = _add_connector(admin, sample)
    saved = admin.post(f"{TAB}/connections/new", _connection_form(connector_id, sample))
    assert saved.status_code == 303, saved.text
    page = admin.get(TAB).text
    assert "Head office" in page
    assert "Customer, Supplier, Partner, Person, Project" in page
    assert re.search(r'<input type="checkbox" name="active" value="on" aria-label="Active: Main"', page)
    with site.database.session() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.target_type == "connection")).one()
        assert "password" not in str(audit.detail_json)


def test_editing_keeps_a_blank_password_and_never_shows_it(admin: Browser, sample: RunningSample, site: Site) -> None:
    connector_id = _add_connector(admin, sample)
    admin.post(f"{TAB}/connections/new", _connection_form(connector_id, sample))
    with site.database.session() as session:
        connection_id = session.scalars(select(ErpConnection.id)).one()
    dialog = admin.get(f"{TAB}/connections/{connection_id}/edit").text
    password_input = re.search(r'<input id="config-password"[^>]*>', dialog)
    assert password_input
    assert "value=" not in password_input.group(0)
    assert "leave blank to keep" in password_input.group(0)
    form = _connection_form(
        connector_id, sample, name="Renamed", **{"config.password": "", "connection_id": connection_id}
    )
    assert 'data-test-passed="true"' in admin.post(f"{TAB}/connections/test", form).text
    saved = admin.post(f"{TAB}/connections/{connection_id}/edit", form)
    assert saved.status_code == 303, saved.text
    assert "Renamed" in admin.get(TAB).text


def test_delete_moves_a_connection_to_the_deleted_filter_and_restore_brings_it_back(
    admin: Browser, sample: RunningSample, site: Site
) -> None:
    connector_id = _add_connector(admin, sample)
    admin.post(f"{TAB}/connections/new", _connection_form(connector_id, sample, name="Doomed"))
    with site.database.session() as session:
        connection_id = session.scalars(select(ErpConnection.id)).one()
    question = admin.get(f"{TAB}/connections/{connection_id}/delete").text
    assert "Delete ERP connection" in question
    assert "you can restore it" in question
    assert "cannot be undone" not in question
    assert admin.post(f"{TAB}/connections/{connection_id}/delete").status_code == 303
    assert "Doomed" not in admin.get(TAB).text
    assert "Doomed" in admin.get(f"{TAB}?deleted=true").text
    restored = admin.post(f"{TAB}/connections/{connection_id}/restore")
    assert restored.headers["location"] == f"{TAB}?deleted=true"
    assert "Doomed" in admin.get(TAB).text


def test_a_connector_in_use_cannot_be_deleted(admin: Browser, sample: RunningSample) -> None:
    connector_id = _add_connector(admin, sample)
    admin.post(f"{TAB}/connections/new", _connection_form(connector_id, sample))
    asked = admin.get(f"{TAB}/connectors/{connector_id}/delete")  # told before confirming, with nothing to confirm
    assert asked.status_code == 409
    assert "The Sync Connector Sample is used by 1 ERP connection. Delete it first." in asked.text
    assert 'class="danger"' not in asked.text
    danish = admin.get(f"{TAB}/connectors/{connector_id}/delete", headers={"Accept-Language": "da"})
    assert "Sync Connectoren Sample bruges af 1 ERP-forbindelse. Slet den først." in danish.text
    admin.post(f"{TAB}/connections/new", _connection_form(connector_id, sample, name="Second"))
    refused = admin.post(f"{TAB}/connectors/{connector_id}/delete")
    assert refused.status_code == 409
    assert "is used by 2 ERP connections. Delete those first." in refused.text
    assert "(s)" not in refused.text
    assert "Sample" in admin.get(TAB).text  # nothing deleted


def test_dialogs_are_fragments_for_htmx_and_pages_otherwise(admin: Browser, sample: RunningSample) -> None:
    _add_connector(admin, sample)
    fragment = admin.get(f"{TAB}/connectors/new", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith("<dialog")
    page = admin.get(f"{TAB}/connectors/new").text
    assert page.startswith("<!doctype html>")
    assert '<dialog class="dialog" aria-labelledby="connector-dialog-title" open>' in page
