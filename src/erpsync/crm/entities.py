"""The table of each CRM entity type."""

from __future__ import annotations

from erpsync.crm.fields import EntityType
from erpsync.storage.tables import Company, CrmEntity, Person, Project

ENTITY_TABLES: dict[EntityType, type[CrmEntity]] = {
    EntityType.COMPANY: Company,
    EntityType.PERSON: Person,
    EntityType.PROJECT: Project,
}
