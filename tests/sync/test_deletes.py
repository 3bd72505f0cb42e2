"""Delete policies (``sync.deletes``) between the built-in CRM and the sample connector over real HTTP, on both
backends: each policy in each direction, the refusals, the preview, and nothing new under the defaults."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from erpsync.crm.changes import changes_since
from erpsync.crm.fields import EntityType
from erpsync.crm.service import delete_entity, read_records
from erpsync.errors import ValidationError
from erpsync.protocol.models import ActorType
from erpsync.storage.tables import AuditEntry, ErpConnection, ErpLink
from erpsync.sync import configuration, configuration_loading, deletes, links, problems
from erpsync.sync.mapping import ActorTypeMapping, CrmDeletePolicy, ErpDeletePolicy
from erpsync.testing.sample import COMPANY
from support.sync_world import CUSTOMER, World, customer_mapping


def _policies(world: World, **policies: ErpDeletePolicy | CrmDeletePolicy) -> None:
    mapping = world.config.mappings[CUSTOMER].model_copy(update=policies)
    world.config = world.config.model_copy(update={"mappings": {CUSTOMER: mapping}})


def _exists(world: World, company_id: int) -> bool:
    with world.database.read_session() as session:
        return company_id in read_records(session, EntityType.COMPANY, {company_id})


def _link_exists(world: World, link_id: int) -> bool:
    with world.database.read_session() as session:
        return session.get(ErpLink, link_id) is not None


def _delete_in_crm(world: World, company_id: int) -> None:
    with world.database.session() as session:
        delete_entity(session, EntityType.COMPANY, company_id, changed_by="user:1")


def _customer(**policies: ErpDeletePolicy | CrmDeletePolicy) -> ActorTypeMapping:
    """The customer mapping without its list field, so a save needs no list mapping."""
    mapping = customer_mapping()
    rows = tuple(row for row in mapping.fields if row.erp_field != "country")
    return mapping.model_copy(update={"fields": rows, **policies})


def _save(world: World, mapping: ActorTypeMapping) -> ActorTypeMapping:
    with world.database.session() as session:
        connection = session.get(ErpConnection, world.connection_id)
        assert connection is not None
        return configuration.save_mapping(session, connection, mapping, erp_lists={})


def _stored(world: World, actor_type: ActorType) -> ActorTypeMapping:
    with world.database.read_session() as session:
        connection = session.get(ErpConnection, world.connection_id)
        assert connection is not None
        return configuration_loading.mapping_of(session, connection, actor_type)


# --- the defaults -----------------------------------------------------------------------------------------------------


def test_under_the_defaults_an_erp_delete_keeps_the_crm_record_and_a_crm_delete_only_unlinks(world: World) -> None:
    assert (customer_mapping().erp_delete, customer_mapping().crm_delete) == ("keep", "unlink")
    kept_id, kept_key, kept_link = world.linked_pair(name="Kept")
    gone_id, gone_key, gone_link = world.linked_pair(name="Gone")
    world.sample.erp.delete_actor(COMPANY, CUSTOMER, kept_key)
    _delete_in_crm(world, gone_id)
    world.cycle()
    world.cycle()
    assert _exists(world, kept_id)
    assert world.get_link(kept_link).state == "broken"
    assert not _link_exists(world, gone_link)
    assert world.erp_values(gone_key)["active"] is True


# --- ERP deletion -----------------------------------------------------------------------------------------------------


def test_under_delete_an_erp_delete_deletes_the_crm_record_with_its_link_audited(world: World) -> None:
    _policies(world, erp_delete=ErpDeletePolicy.DELETE)
    company_id, erp_key, link_id = world.linked_pair()
    other_id, _, other_link = world.linked_pair(name="Stays")
    world.sample.erp.delete_actor(COMPANY, CUSTOMER, erp_key)
    [summary] = world.cycle()
    assert summary.status == "ok"
    assert not _exists(world, company_id)
    assert not _link_exists(world, link_id)
    assert _exists(world, other_id)
    assert world.get_link(other_link).state == "ok"
    with world.database.read_session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "crm_record_deleted_after_erp_delete"))
        assert (entry.target_type, entry.target_id, entry.detail_json["erp_key"]) == (
            "company",
            str(company_id),
            erp_key,
        )
    [again] = world.cycle()  # the tombstone the hub left is not taken for a CRM user's delete
    assert again.status == "ok"


def test_switching_delete_on_deletes_the_crm_records_of_links_broken_before(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair()
    world.sample.erp.delete_actor(COMPANY, CUSTOMER, erp_key)
    world.cycle()
    assert world.get_link(link_id).state == "broken"
    _policies(world, erp_delete=ErpDeletePolicy.DELETE)
    world.cycle()
    assert not _exists(world, company_id)


def test_under_deactivate_an_erp_delete_deactivates_the_crm_record_once_audited_in_the_feed_link_broken(
    world: World,
) -> None:
    _policies(world, erp_delete=ErpDeletePolicy.DEACTIVATE)
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example")
    other_id, _, other_link = world.linked_pair(name="Stays")
    world.sample.erp.delete_actor(COMPANY, CUSTOMER, erp_key)
    seq = world.crm_seq()
    [summary] = world.cycle()
    assert summary.status == "ok"
    assert world.crm_values(company_id)["ACTIVE"] is False
    assert world.crm_values(company_id)["EMAIL"] == "a@acme.example"  # kept, only deactivated
    assert world.crm_values(other_id)["ACTIVE"] is True
    assert world.get_link(other_link).state == "ok"
    link = world.get_link(link_id)
    assert (link.state, link.error_cause) == ("broken", links.DEACTIVATED_CAUSE)
    assert link.last_error == "deleted in ERP: the CRM record was deactivated"
    with world.database.read_session() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "crm_record_deactivated_after_erp_delete")
        )
        assert (entry.target_type, entry.target_id, entry.detail_json["erp_key"]) == (
            "company",
            str(company_id),
            erp_key,
        )
        feed = changes_since(session, EntityType.COMPANY, seq)  # what every other connection reads
        [broken] = problems.broken_links(session, world.connection_id, user=None)
    assert [(c.entity_id, c.changed_by, c.deleted) for c in feed] == [
        (company_id, f"sync:{world.connection_id}", False)
    ]
    assert (broken.link_id, broken.cause) == (link_id, "deleted_in_erp")


def test_a_record_reactivated_by_a_person_stays_active_while_its_link_stays_broken(world: World) -> None:
    _policies(world, erp_delete=ErpDeletePolicy.DEACTIVATE)
    company_id, erp_key, link_id = world.linked_pair()
    world.sample.erp.delete_actor(COMPANY, CUSTOMER, erp_key)
    world.cycle()
    assert world.crm_values(company_id)["ACTIVE"] is False
    world.crm_update(company_id, ACTIVE=True)
    with world.database.session() as session:  # the ERP reporting the deletion again, or a resync
        link = session.get(ErpLink, link_id)
        assert link is not None
        links.mark_broken(link, "the ERP actor was deleted or is missing")
    world.cycle()
    world.cycle()
    assert world.crm_values(company_id)["ACTIVE"] is True  # the person has the last word
    assert (world.get_link(link_id).state, world.get_link(link_id).error_cause) == ("broken", "deleted_in_erp")
    with world.database.read_session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "crm_record_deactivated_after_erp_delete")
        ).all()
    assert len(entries) == 1


# --- CRM deletion -----------------------------------------------------------------------------------------------------


def test_under_deactivate_in_erp_a_crm_delete_deactivates_the_erp_actor_then_unlinks(world: World) -> None:
    _policies(world, crm_delete=CrmDeletePolicy.DEACTIVATE_IN_ERP)
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example")
    _, other_key, _ = world.linked_pair(name="Stays")
    _delete_in_crm(world, company_id)
    [summary] = world.cycle()
    assert summary.status == "ok"
    assert world.erp_values(erp_key)["active"] is False
    assert world.erp_values(erp_key)["email"] == "a@acme.example"  # deactivated, nothing else written
    assert world.erp_values(other_key)["active"] is True
    assert not _link_exists(world, link_id)


def test_a_deactivation_the_erp_refuses_leaves_the_link_broken_with_the_reason(world: World) -> None:
    _policies(world, crm_delete=CrmDeletePolicy.DEACTIVATE_IN_ERP)
    company_id = world.crm_company()
    link_id = world.link(company_id, "999999")  # an actor the ERP does not have, and has not reported deleted
    _delete_in_crm(world, company_id)
    [summary] = world.cycle()
    assert summary.status == "ok"
    link = world.get_link(link_id)
    assert link.state == "broken"
    assert "deactivating the ERP actor failed" in (link.last_error or "")
    world.cycle()
    assert world.get_link(link_id).state == "broken"  # the ERP deletes step leaves a link with no CRM record


# --- saving the policies, and the refusals ----------------------------------------------------------------------------


def test_the_policies_are_stored_with_the_mapping_and_kept_by_a_save_that_sets_them(world: World) -> None:
    _save(world, _customer(erp_delete=ErpDeletePolicy.DELETE, crm_delete=CrmDeletePolicy.DEACTIVATE_IN_ERP))
    stored = _stored(world, CUSTOMER)
    assert (stored.erp_delete, stored.crm_delete) == (ErpDeletePolicy.DELETE, CrmDeletePolicy.DEACTIVATE_IN_ERP)
    _save(world, _customer())
    assert (_stored(world, CUSTOMER).erp_delete, _stored(world, CUSTOMER).crm_delete) == ("keep", "unlink")


def test_deactivate_is_saved_for_every_crm_entity_has_an_active_flag(world: World) -> None:
    _save(world, _customer(erp_delete=ErpDeletePolicy.DEACTIVATE))
    assert _stored(world, CUSTOMER).erp_delete is ErpDeletePolicy.DEACTIVATE
    _save(world, ActorTypeMapping(actor_type=ActorType.PROJECT, erp_delete=ErpDeletePolicy.DEACTIVATE))
    assert _stored(world, ActorType.PROJECT).erp_delete is ErpDeletePolicy.DEACTIVATE


def test_deactivate_in_erp_is_refused_where_the_connector_offers_no_active_field(world: World) -> None:
    project = ActorTypeMapping(actor_type=ActorType.PROJECT, crm_delete=CrmDeletePolicy.DEACTIVATE_IN_ERP)
    with pytest.raises(ValidationError, match="offers no writable 'active' checkbox for a project"):
        _save(world, project)
    assert _stored(world, ActorType.PROJECT).crm_delete is CrmDeletePolicy.UNLINK


# --- the preview ------------------------------------------------------------------------------------------------------


def test_the_preview_counts_todays_broken_links_and_writes_nothing(world: World) -> None:
    pairs = [world.linked_pair(name=f"Acme {n}") for n in range(3)]
    for _, erp_key, _ in pairs[:2]:
        world.sample.erp.delete_actor(COMPANY, CUSTOMER, erp_key)
    world.cycle()
    seq = world.crm_seq()
    with world.database.read_session() as session:
        keep = deletes.preview(session, world.connection_id, CUSTOMER, ErpDeletePolicy.KEEP)
        delete = deletes.preview(session, world.connection_id, CUSTOMER, ErpDeletePolicy.DELETE)
        deactivate = deletes.preview(session, world.connection_id, CUSTOMER, ErpDeletePolicy.DEACTIVATE)
    assert keep == deletes.DeletePreview(broken=2, deleted=0, deactivated=0)
    assert delete == deletes.DeletePreview(broken=2, deleted=2, deactivated=0)
    assert deactivate == deletes.DeletePreview(broken=2, deleted=0, deactivated=2)
    assert world.crm_seq() == seq
    assert all(_exists(world, company_id) for company_id, _, _ in pairs)
    _policies(world, erp_delete=ErpDeletePolicy.DELETE)
    world.cycle()
    assert [_exists(world, company_id) for company_id, _, _ in pairs] == [False, False, True]


def test_the_deactivate_preview_counts_only_the_active_records_not_deactivated_before(world: World) -> None:
    pairs = [world.linked_pair(name=f"Acme {n}") for n in range(3)]
    for _, erp_key, _ in pairs:
        world.sample.erp.delete_actor(COMPANY, CUSTOMER, erp_key)
    world.crm_update(pairs[2][0], ACTIVE=False)  # inactive already: nothing to do
    world.cycle()

    def preview() -> deletes.DeletePreview:
        with world.database.read_session() as session:
            return deletes.preview(session, world.connection_id, CUSTOMER, ErpDeletePolicy.DEACTIVATE)

    assert preview() == deletes.DeletePreview(broken=3, deleted=0, deactivated=2)
    _policies(world, erp_delete=ErpDeletePolicy.DEACTIVATE)
    world.cycle()
    assert preview() == deletes.DeletePreview(broken=3, deleted=0, deactivated=0)
    assert [world.crm_values(company_id)["ACTIVE"] for company_id, _, _ in pairs] == [False, False, False]
