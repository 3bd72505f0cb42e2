"""``/companies``: any signed-in user lists (paged, searchable by name), reads, creates, changes, deletes and merges
companies."""

from __future__ import annotations

from fastapi import APIRouter, status

from erpsync.api import crm_routes
from erpsync.api.crm_routes import ListQuery
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.crm.schemas import CompanyCreate, CompanyPublic, CompanyUpdate, MergeRequest, Page
from erpsync.http.deps import CurrentUser, SessionDep
from erpsync.sync.crm_merges import MergeReport

router = APIRouter(prefix="/companies", tags=["companies"])
_TYPE = EntityType.COMPANY


@router.get("")
def list_companies(session: SessionDep, user: CurrentUser, query: ListQuery) -> Page[CompanyPublic]:
    return crm_routes.page_of(session, user, _TYPE, CompanyPublic, query)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_company(session: SessionDep, user: CurrentUser, body: CompanyCreate) -> CompanyPublic:
    return CompanyPublic.model_validate(crm_routes.create(session, user, _TYPE, body))


@router.get("/{company_id}")
def get_company(session: SessionDep, user: CurrentUser, company_id: int) -> CompanyPublic:
    return crm_routes.public(session, user, CompanyPublic, service.get_entity(session, _TYPE, company_id))


@router.patch("/{company_id}")
def update_company(session: SessionDep, user: CurrentUser, company_id: int, body: CompanyUpdate) -> CompanyPublic:
    return CompanyPublic.model_validate(crm_routes.update(session, user, _TYPE, company_id, body))


@router.delete("/{company_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_company(session: SessionDep, user: CurrentUser, company_id: int) -> None:
    crm_routes.delete(session, user, _TYPE, company_id)


@router.post("/{company_id}/merge")
def merge_company(session: SessionDep, user: CurrentUser, company_id: int, body: MergeRequest) -> MergeReport:
    """Merge ``other_id`` into this company with the values chosen; its links move here (a second link in one
    connection is kept, broken with cause ``merged``, and reported in ``link_conflicts``)."""
    return crm_routes.merge(session, user, _TYPE, company_id, body)
