"""Deletes (docs/concepts.md *Deletes*): what a deletion on one side does on the other, per connection and actor type
(``ActorTypeMapping.erp_delete`` and ``.crm_delete``), and its preview on today's data.

- An ERP actor deleted or missing breaks its link (``sync.batch``). Under ``keep`` (the default) that is all: the CRM
  record stays and the broken link waits for a person. Under ``delete`` the ERP deletes step of every run deletes the
  CRM record of each broken link of the actor type, through the CRM service (a tombstone in the change feed, so other
  connections hear of it), with its links, audited, in one transaction. Under ``deactivate`` that step clears the
  active flag of each such record once, through the CRM service (a change in the feed), audited, and leaves its link
  broken with cause ``links.DEACTIVATED_CAUSE`` (*deleted in ERP*) for a person to see; a person who reactivates the
  record has the last word: it is not deactivated again while that link stays.
- A CRM record deleted loses its links (``sync.cycle_passes``). Under ``deactivate_in_erp`` the linked ERP actors are
  first saved with their ``active`` checkbox off, outside any transaction; a deactivation the ERP refuses leaves the
  link broken with the reason instead of removed, so a person sees it.
- ``preview`` says what a policy would do to today's data without writing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.crm.fields import ACTIVE
from erpsync.crm.service import delete_entity, read_records, update_entity
from erpsync.errors import ErpsyncError
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpLink, utcnow
from erpsync.sync import links
from erpsync.sync.batch import Batch, stop_if_fatal
from erpsync.sync.mapping import ENTITY_FOR_ACTOR, ERP_ACTIVE_FIELD, CrmDeletePolicy, ErpDeletePolicy
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Pass

DELETED = "deleted"
"""The state a record result reports for a CRM record deleted because its ERP actor was."""
DEACTIVATED = "deactivated"
"""The state a record result reports for a CRM record deactivated because its ERP actor was deleted."""


@dataclass(frozen=True)
class DeletePreview:
    """What an ERP-deletion policy would do today: ``broken`` links whose ERP actor is deleted or missing and whose
    CRM record still exists; of their CRM records, how many would be ``deleted`` or ``deactivated``."""

    broken: int
    deleted: int
    deactivated: int


def broken_with_record(session: Session, connection_id: int, actor_type: m.ActorType) -> list[ErpLink]:
    """The broken links of ``actor_type`` (their ERP actor deleted or missing) whose CRM record still exists."""
    query = select(ErpLink).where(
        ErpLink.connection_id == connection_id,
        ErpLink.actor_type == actor_type.value,
        ErpLink.state == links.LinkState.BROKEN.value,
    )
    broken = list(session.scalars(query.order_by(ErpLink.id)))
    existing = read_records(session, ENTITY_FOR_ACTOR[actor_type], {link.entity_id for link in broken})
    return [link for link in broken if link.entity_id in existing]


def to_deactivate(session: Session, connection_id: int, actor_type: m.ActorType) -> list[ErpLink]:
    """The broken links of ``actor_type`` whose CRM record the ``deactivate`` policy would deactivate: the record
    exists, is active, and was not deactivated for this link before."""
    broken = [
        link
        for link in broken_with_record(session, connection_id, actor_type)
        if link.error_cause != links.DEACTIVATED_CAUSE
    ]
    records = read_records(session, ENTITY_FOR_ACTOR[actor_type], {link.entity_id for link in broken})
    return [link for link in broken if records[link.entity_id].values[ACTIVE.key]]


def preview(session: Session, connection_id: int, actor_type: m.ActorType, policy: ErpDeletePolicy) -> DeletePreview:
    """What ``policy`` would do to today's broken links of ``actor_type``; reads only."""
    broken = len(broken_with_record(session, connection_id, actor_type))
    deactivated = policy is ErpDeletePolicy.DEACTIVATE
    return DeletePreview(
        broken=broken,
        deleted=broken if policy is ErpDeletePolicy.DELETE else 0,
        deactivated=len(to_deactivate(session, connection_id, actor_type)) if deactivated else 0,
    )


def erp_deletes_pass(batch: Batch) -> list[RecordResult]:
    """Under ``delete``: the CRM records of the actor type's broken links deleted, with their links, in one
    transaction, each audited. Under ``deactivate``: those records deactivated (``_deactivate_crm``)."""
    p = batch.p
    if p.mapping.erp_delete is ErpDeletePolicy.DEACTIVATE:
        return _deactivate_crm(batch)
    if p.mapping.erp_delete is not ErpDeletePolicy.DELETE:
        return []
    with batch.database.session() as session:
        doomed = broken_with_record(session, p.connection_id, p.actor_type)
        for link in doomed:
            delete_entity(session, p.entity_type, link.entity_id, changed_by=p.origin)
            links.remove_entity_links(session, p.entity_type, link.entity_id, connection_id=p.connection_id)
            _audit(session, p, link, "crm_record_deleted_after_erp_delete")
    return [RecordResult(link_id=link.id, state=DELETED, changed_crm=[DELETED]) for link in doomed]


def _audit(session: Session, p: Pass, link: ErpLink, action: str) -> None:
    """The audit entry of what an ERP deletion did to the CRM record of ``link``."""
    audit.record(
        session,
        user_id=None,
        action=action,
        target_type=p.entity_type.value,
        target_id=link.entity_id,
        detail={"connection_id": p.connection_id, "actor_type": p.actor_type.value, "erp_key": link.erp_key},
    )


def _deactivate_crm(batch: Batch) -> list[RecordResult]:
    """The CRM records of the actor type's broken links not deactivated before, deactivated through the CRM service
    (tagged with the connection's origin, so the other connections hear of it), their links marked *deleted in ERP*,
    each audited, in one transaction."""
    p = batch.p
    with batch.database.session() as session:
        targets = to_deactivate(session, p.connection_id, p.actor_type)
        now = utcnow()
        for link in targets:
            update_entity(session, p.entity_type, link.entity_id, {ACTIVE.attr: False}, changed_by=p.origin)
            links.mark_deactivated(link, now=now)
            _audit(session, p, link, "crm_record_deactivated_after_erp_delete")
    return [RecordResult(link_id=link.id, state=DEACTIVATED, changed_crm=[ACTIVE.key]) for link in targets]


def deactivate_in_erp(p: Pass, session_links: Sequence[ErpLink]) -> dict[int, str]:
    """Under ``deactivate_in_erp``: the ERP actors of ``session_links`` (their CRM records deleted) saved with their
    active checkbox off, outside any transaction; the reason of each entity whose actor was not deactivated."""
    if p.mapping.crm_delete is not CrmDeletePolicy.DEACTIVATE_IN_ERP or not session_links:
        return {}
    actors = [
        m.Actor(actor_type=p.actor_type, erp_key=link.erp_key, fields={ERP_ACTIVE_FIELD: False})
        for link in session_links
    ]
    try:
        saved = p.client.save_actors(connection_id=p.connection_uuid, actors=actors)
    except ErpsyncError as error:
        stop_if_fatal(error)
        return {link.entity_id: error.user_message for link in session_links}
    return {session_links[e.index].entity_id: e.message for e in saved.errors if e.index < len(session_links)}


def deletion_targets(session: Session, p: Pass, entity_ids: Sequence[int]) -> list[ErpLink]:
    """The links to deactivate in the ERP for the CRM records ``entity_ids`` deleted (none under ``unlink``)."""
    if p.mapping.crm_delete is not CrmDeletePolicy.DEACTIVATE_IN_ERP or not entity_ids:
        return []
    found = links.links_by_entity(session, p.connection_id, p.actor_type, entity_ids).values()
    return [link for link in found if link.state != links.LinkState.BROKEN.value]
