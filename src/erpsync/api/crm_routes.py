"""What the company, person and project routers share: paging, and writes tagged with the calling user.

Public names: ``ListQuery`` (a list's query parameters: ``PageLimit``, ``PageOffset``, ``NameQuery``,
``IncludeInactive``), ``MAX_PAGE_SIZE``, ``page_of``, ``public``, ``create``, ``update``, ``delete``, ``merge``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from erpsync.crm import edits, service
from erpsync.crm.fields import EntityType
from erpsync.crm.schemas import MergeRequest, Page
from erpsync.storage.tables import User
from erpsync.sync import crm_edits, crm_merges
from erpsync.sync.connection_visibility import OriginView

MAX_PAGE_SIZE = 500

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")]
PageOffset = Annotated[int, Query(ge=0, description="items to skip")]
NameQuery = Annotated[str | None, Query(max_length=255, description="only names containing this (any case)")]
IncludeInactive = Annotated[bool, Query(description="also inactive records (left out by default)")]


@dataclass(frozen=True)
class ListParams:
    """The query parameters of a list of companies, persons or projects."""

    q: NameQuery = None
    limit: PageLimit = 50
    offset: PageOffset = 0
    include_inactive: IncludeInactive = False


ListQuery = Annotated[ListParams, Depends()]

PublicT = TypeVar("PublicT", bound=BaseModel)


def page_of(
    session: Session,
    user: User,
    entity_type: EntityType,
    schema: type[PublicT],
    query: ListParams,
) -> Page[PublicT]:
    entities, total = service.list_entities(
        session,
        entity_type,
        q=query.q,
        limit=query.limit,
        offset=query.offset,
        include_inactive=query.include_inactive,
    )
    origins = OriginView(session, user)
    items = [_shown(schema, entity, origins) for entity in entities]
    return Page[PublicT](items=items, total=total, limit=query.limit, offset=query.offset)


def public(session: Session, user: User, schema: type[PublicT], entity: service.Entity) -> PublicT:
    """The entity as ``user`` may see it: ``changed_by`` does not name a connection hidden from them."""
    return _shown(schema, entity, OriginView(session, user))


def _shown(schema: type[PublicT], entity: service.Entity, origins: OriginView) -> PublicT:
    return schema.model_validate(entity).model_copy(update={"changed_by": origins(entity.changed_by)})


def create(session: Session, user: User, entity_type: EntityType, body: BaseModel) -> service.Entity:
    attrs: dict[str, Any] = body.model_dump(exclude_unset=True)
    return edits.create(session, entity_type, attrs, user_id=user.id)


def update(session: Session, user: User, entity_type: EntityType, entity_id: int, body: BaseModel) -> service.Entity:
    attrs: dict[str, Any] = body.model_dump(exclude_unset=True)
    return crm_edits.update(session, entity_type, entity_id, attrs, user_id=user.id)


def delete(session: Session, user: User, entity_type: EntityType, entity_id: int) -> None:
    edits.delete(session, entity_type, entity_id, user_id=user.id)


def merge(
    session: Session, user: User, entity_type: EntityType, entity_id: int, body: MergeRequest
) -> crm_merges.MergeReport:
    return crm_merges.merge_records(session, entity_type, entity_id, body.other_id, body.values, user=user)
