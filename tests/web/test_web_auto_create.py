"""The *Automatic creation* configure screen over real HTTP with the sample connector, in English and Danish: a
preview that saves nothing, a save, a refused setting with its reason, the review list after a sync with its actions,
and the health page pointing at it."""

from __future__ import annotations

import pytest

from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, ErpLink
from erpsync.sync import configuration, configuration_loading
from erpsync.sync.mapping import ActorTypeMapping, AutoCreate, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.sample import COMPANY, RunningSample

from .conftest import Browser, Site, add_connection

TAB = "/settings/sync"


@pytest.fixture
def admin(site: Site) -> Browser:
    site.add_user("admin", is_admin=True)
    return site.signed_in("admin")


def _mapped(site: Site, connection_id: int) -> None:
    rows = (
        FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH),
        FieldMapping(erp_field="email", crm_field="EMAIL", direction=Direction.BOTH),
    )
    with site.database.session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection
        mapping = ActorTypeMapping(actor_type=m.ActorType.CUSTOMER, active=True, fields=rows)
        configuration.save_mapping(session, connection, mapping, erp_lists={})
        connection.active = True


def _saved(site: Site, connection_id: int) -> AutoCreate:
    with site.database.session() as session:
        connection = session.get(ErpConnection, connection_id)
        assert connection
        return configuration_loading.mapping_of(session, connection, m.ActorType.CUSTOMER).auto_create


def test_auto_create_is_previewed_saved_and_its_review_list_decided(
    admin: Browser, sample: RunningSample, site: Site
) -> None:
    connection_id = add_connection(admin, sample)
    _mapped(site, connection_id)
    with site.database.session() as session:
        twins = [
            create_record(session, EntityType.COMPANY, {"NAME": n, "EMAIL": "t@twin.example"}, changed_by="user:1").id
            for n in ("Twin", "Other twin")
        ]
    sample.erp.create_actor(
        COMPANY, m.ActorType.CUSTOMER, NewRecord(values={"name": "Twin", "email": "t@twin.example"})
    )
    sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord(values={"name": "New", "email": "n@new.example"}))
    url = f"{TAB}/connections/{connection_id}/auto-create"
    page = admin.get(url)
    assert page.status_code == 200
    assert "Automatic creation" in page.text
    assert "Nothing waits for a decision." in page.text
    form = {"direction": "erp_to_crm", "match": "email"}
    preview = admin.post(f"{url}?actor_type=customer", {**form, "action": "preview"})
    assert preview.status_code == 200, preview.text
    assert '<tr data-side="erp_to_crm"><th scope="row">ERP to CRM</th><td>1</td><td>0</td><td>1</td><td>0</td>' in (
        preview.text
    )
    assert _saved(site, connection_id) == AutoCreate()  # a preview saves nothing
    saved = admin.post(f"{url}?actor_type=customer", {**form, "action": "save"})
    assert saved.status_code == 303
    assert _saved(site, connection_id) == AutoCreate(direction="erp_to_crm", match=("email",))
    bad = admin.post(f"{url}?actor_type=customer", {"direction": "both", "match": "shoe_size", "action": "save"})
    assert bad.status_code == 422
    assert "not a match key" in bad.text
    synced = admin.post(f"{TAB}/connections/{connection_id}/sync")
    assert synced.status_code == 200, synced.text  # Sync now's result: automatic creation's counts among the run's
    assert "<dt>Created automatically</dt><dd>1</dd>" in synced.text
    assert "<dt>Sent to review</dt><dd>1</dd>" in synced.text
    assert "Linked automatically" not in synced.text  # a count of nothing is left out
    health = admin.get(f"{TAB}/connections/{connection_id}/health")
    assert "1 record waits on the review list of automatic creation." in health.text
    listed = admin.get(url).text
    assert "Several records match" in listed
    review_id = int(listed.split('data-review="', 1)[1].split('"', 1)[0])
    linked = admin.post(f"{url}/reviews/{review_id}", {"action": "link", "candidate": str(twins[1])})
    assert linked.status_code == 303
    assert admin.get(linked.headers["location"]).text.count("Linked.") == 1
    with site.database.read_session() as session:
        assert session.query(ErpLink).filter(ErpLink.entity_id == twins[1]).count() == 1
    again = admin.post(f"{url}/reviews/{review_id}", {"action": "ignore"})
    assert again.status_code == 422
    assert f"review item {review_id} is linked already" in again.text
    admin.post("/language", {"language": "da"})
    assert "Automatisk oprettelse" in admin.get(url).text
