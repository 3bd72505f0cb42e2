"""``/persons``: any signed-in user lists (paged, searchable by name), reads, creates, changes, deletes and merges
persons."""

from __future__ import annotations

from fastapi import APIRouter, status

from erpsync.api import crm_routes
from erpsync.api.crm_routes import ListQuery
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.crm.schemas import MergeRequest, Page, PersonCreate, PersonPublic, PersonUpdate
from erpsync.http.deps import CurrentUser, SessionDep
from erpsync.sync.crm_merges import MergeReport

router = APIRouter(prefix="/persons", tags=["persons"])
_TYPE = EntityType.PERSON


@router.get("")
def list_persons(session: SessionDep, user: CurrentUser, query: ListQuery) -> Page[PersonPublic]:
    return crm_routes.page_of(session, user, _TYPE, PersonPublic, query)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_person(session: SessionDep, user: CurrentUser, body: PersonCreate) -> PersonPublic:
    return PersonPublic.model_validate(crm_routes.create(session, user, _TYPE, body))


@router.get("/{person_id}")
def get_person(session: SessionDep, user: CurrentUser, person_id: int) -> PersonPublic:
    return crm_routes.public(session, user, PersonPublic, service.get_entity(session, _TYPE, person_id))


@router.patch("/{person_id}")
def update_person(session: SessionDep, user: CurrentUser, person_id: int, body: PersonUpdate) -> PersonPublic:
    return PersonPublic.model_validate(crm_routes.update(session, user, _TYPE, person_id, body))


@router.delete("/{person_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_person(session: SessionDep, user: CurrentUser, person_id: int) -> None:
    crm_routes.delete(session, user, _TYPE, person_id)


@router.post("/{person_id}/merge")
def merge_person(session: SessionDep, user: CurrentUser, person_id: int, body: MergeRequest) -> MergeReport:
    """Merge ``other_id`` into this person with the values chosen; its links move here (a second link in one
    connection is kept, broken with cause ``merged``, and reported in ``link_conflicts``)."""
    return crm_routes.merge(session, user, _TYPE, person_id, body)
