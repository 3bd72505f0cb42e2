"""Links the worlds make: a CRM company linked to an ERP customer of a connection, agreed on the values given."""

from __future__ import annotations

from collections.abc import Mapping

from erpsync.crm.fields import EntityType
from erpsync.protocol.models import ActorType, Value
from erpsync.storage.db import Database
from erpsync.sync import links


def link_company(
    database: Database, connection_id: int, company_id: int, erp_key: str, agreed: Mapping[str, Value] | None = None
) -> int:
    """The id of a new link between the CRM company and the ERP customer ``erp_key``, in a transaction of its own."""
    with database.session() as session:
        return links.create_link(
            session,
            connection_id=connection_id,
            entity_type=EntityType.COMPANY,
            entity_id=company_id,
            actor_type=ActorType.CUSTOMER,
            erp_key=erp_key,
            agreed=agreed,
        ).id
