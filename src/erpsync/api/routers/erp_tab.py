"""The ERP tab (SPEC §5.1) of companies, persons and projects: ``/{companies|persons|projects}/{id}/erp``.

Every endpoint needs the ERP licence (403) and a connection the user can see that is active (404 otherwise, so hidden
connections are not disclosed); the CRM entity must exist (404). A connector failure answers 502 with the
connector's message and its typed reason; a connector that refuses the request's values answers 422.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse

from erpsync.api.erp_tab_schemas import ConnectBody, CreateBody, EntityCollection, SearchBody, SectionsPublic
from erpsync.http.deps import ClientsDep, DatabaseDep, LicensedUser
from erpsync.protocol.documents import DocumentFilters, DocumentKind, DocumentState
from erpsync.protocol.models import ActorType
from erpsync.sync import erp_tab
from erpsync.sync.erp_tab.documents import MAX_PAGE_SIZE, PAGE_SIZE
from erpsync.sync.record import RecordResult
from erpsync.sync.work import Engine


async def refused(_request: Request, exc: Exception) -> JSONResponse:
    """A request refused part by part: the shape of FastAPI's own validation errors, so clients read one format."""
    assert isinstance(exc, erp_tab.RefusedRequestError)
    detail = [{"loc": ["body", *loc], "msg": message, "type": "value_error"} for loc, message in exc.problems]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


router = APIRouter(prefix="/{collection}/{entity_id}/erp", tags=["erp tab"])


async def _entity(collection: EntityCollection, entity_id: int) -> erp_tab.EntityRef:
    return erp_tab.EntityRef(collection.entity_type, entity_id)


async def _engine(database: DatabaseDep, clients: ClientsDep) -> Engine:
    return Engine(database, clients)


async def _licensed_user_id(user: LicensedUser) -> int:
    return user.id  # the service opens its own short transactions, none of them across a connector call


EntityDep = Annotated[erp_tab.EntityRef, Depends(_entity)]
EngineDep = Annotated[Engine, Depends(_engine)]
UserId = Annotated[int, Depends(_licensed_user_id)]


@router.get("")
def read_sections(engine: EngineDep, user_id: UserId, entity: EntityDep) -> SectionsPublic:
    """One section per active connection the user can see; a linked entity's ERP fields are read live."""
    return SectionsPublic(sections=erp_tab.sections(engine, user_id, entity))


@router.post("/{connection_id}/search")
def search(
    engine: EngineDep, user_id: UserId, entity: EntityDep, connection_id: int, body: SearchBody
) -> list[erp_tab.Hit]:
    """The first page of hits (the web's connect dialog pages on with ``search_page``)."""
    return erp_tab.search_page(
        engine,
        user_id,
        entity,
        connection_id,
        actor_type=body.actor_type,
        text=body.text,
        restrictions=body.restriction_inputs(),
    ).hits


@router.get("/{connection_id}/compare")
def compare(
    engine: EngineDep,
    user_id: UserId,
    entity: EntityDep,
    connection_id: int,
    actor_type: ActorType,
    erp_key: Annotated[str, Query(min_length=1, max_length=255)],
) -> list[erp_tab.FieldComparison]:
    """Per synced field, both sides' values and whether the user must choose a winner (the connect dialog)."""
    return erp_tab.compare(engine, user_id, entity, connection_id, actor_type=actor_type, erp_key=erp_key)


@router.post("/{connection_id}/connect", status_code=status.HTTP_201_CREATED)
def connect(
    engine: EngineDep, user_id: UserId, entity: EntityDep, connection_id: int, body: ConnectBody
) -> erp_tab.Linked:
    return erp_tab.connect_actor(
        engine,
        user_id,
        entity,
        connection_id,
        actor_type=body.actor_type,
        erp_key=body.erp_key,
        winners=body.winners,
    )


@router.get("/{connection_id}/create-form")
def create_form(
    engine: EngineDep, user_id: UserId, entity: EntityDep, connection_id: int, actor_type: ActorType
) -> list[erp_tab.Prompt]:
    """The defaults that ask the user when an actor is created in the ERP."""
    return erp_tab.create_form(engine, user_id, entity, connection_id, actor_type=actor_type)


@router.post("/{connection_id}/create", status_code=status.HTTP_201_CREATED)
def create(
    engine: EngineDep, user_id: UserId, entity: EntityDep, connection_id: int, body: CreateBody
) -> erp_tab.Linked:
    linked, _sync = erp_tab.create_in_erp(
        engine,
        user_id,
        entity,
        connection_id,
        actor_type=body.actor_type,
        values=body.values,
        update_crm=body.update_crm,
    )
    return linked


@router.post("/{connection_id}/sync")
def sync_now(engine: EngineDep, user_id: UserId, entity: EntityDep, connection_id: int) -> RecordResult:
    """Sync this record at once; answers what changed on each side, conflicts and errors."""
    return erp_tab.sync_now(engine, user_id, entity, connection_id)


@router.delete("/{connection_id}/link", status_code=status.HTTP_204_NO_CONTENT)
def disconnect(engine: EngineDep, user_id: UserId, entity: EntityDep, connection_id: int) -> None:
    """Remove the link only; nothing is deleted in the ERP."""
    erp_tab.disconnect(engine, user_id, entity, connection_id)


# --- documents ------------------------------------------------------------------------------------------------------


async def _document_query(
    kind: Annotated[list[DocumentKind] | None, Query(max_length=len(DocumentKind))] = None,
    state: Annotated[list[DocumentState] | None, Query(max_length=len(DocumentState))] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
) -> erp_tab.DocumentQuery:
    filters = DocumentFilters(kinds=kind, states=state, date_from=date_from, date_to=date_to)
    return erp_tab.DocumentQuery(filters=filters, cursor=cursor, limit=limit)


@router.get("/{connection_id}/documents")
def read_documents(
    engine: EngineDep,
    user_id: UserId,
    entity: EntityDep,
    connection_id: int,
    query: Annotated[erp_tab.DocumentQuery, Depends(_document_query)],
    refresh: bool = False,
) -> erp_tab.DocumentsView:
    """A page of the linked actor's documents, newest first, filtered by ``kind``, ``state`` (both repeatable) and the
    period; the first page carries the balance. Read live and kept a short while; ``refresh=true`` reads again.
    404 when the entity is not linked or the connector has no documents for its actor type."""
    return erp_tab.documents(engine, user_id, entity, connection_id, query, refresh=refresh)


@router.get("/{connection_id}/documents/lines")
def read_document_lines(
    engine: EngineDep,
    user_id: UserId,
    entity: EntityDep,
    connection_id: int,
    document_key: Annotated[str, Query(min_length=1, max_length=255)],
    refresh: bool = False,
) -> erp_tab.DocumentLinesView:
    """One of the linked actor's documents (its ``key``, in the query: keys are the connector's and may hold any
    character) with its lines; 404 for a document of another actor."""
    return erp_tab.document_lines(engine, user_id, entity, connection_id, document_key, refresh=refresh)
