"""A hub world for the ERP tab's Documents part (tests, benchmarks): a registered connector, an active connection
syncing customer names, and a CRM company linked to an ERP customer, set up through the service layer."""

from __future__ import annotations

from dataclasses import dataclass

from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.crypto import Cipher
from erpsync.protocol import models as m
from erpsync.storage.db import Database
from erpsync.sync import configuration, connection_visibility, connections, connectors, links
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction


@dataclass(frozen=True)
class LinkedCompany:
    connection_id: int
    company_id: int
    erp_key: str


def link_company(
    database: Database,
    cipher: Cipher,
    *,
    url: str,
    secret: str,
    config: m.Config,
    erp_key: str,
    name: str = "Acme",
    visible_to: tuple[int, ...] | None = None,
) -> LinkedCompany:
    """Connector, connection "Main" (visible to everyone, or to the users ``visible_to``), and the company ``name``
    linked to the customer ``erp_key``."""
    clients = connections.hub_clients(database, cipher)
    visibility = connection_visibility.Visibility(everyone=visible_to is None, users=visible_to or ())
    names = (FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH, show_in_tab=True),)
    try:
        with database.session() as session:
            connector = connectors.add_connector(session, clients, name="Sample ERP", url=url, secret=secret)
            draft = connections.ConnectionDraft(
                name="Main", connector_id=connector.id, config=dict(config), visibility=visibility
            )
            connection = connections.create_connection(session, clients, draft)
            mapping = ActorTypeMapping(actor_type=m.ActorType.CUSTOMER, active=True, fields=names)
            configuration.save_mapping(session, connection, mapping, erp_lists={})
            connection.active = True
            company = service.create_entity(session, EntityType.COMPANY, {"name": name}, changed_by="test")
            links.create_link(
                session,
                connection_id=connection.id,
                entity_type=EntityType.COMPANY,
                entity_id=company.id,
                actor_type=m.ActorType.CUSTOMER,
                erp_key=erp_key,
                agreed={"name": name},
            )
            return LinkedCompany(connection.id, company.id, erp_key)
    finally:
        clients.close()
