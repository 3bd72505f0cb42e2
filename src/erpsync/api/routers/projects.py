"""``/projects``: any signed-in user lists (paged, searchable by name), reads, creates, changes and deletes projects."""

from __future__ import annotations

from fastapi import APIRouter, status

from erpsync.api import crm_routes
from erpsync.api.crm_routes import ListQuery
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.crm.schemas import Page, ProjectCreate, ProjectPublic, ProjectUpdate
from erpsync.http.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/projects", tags=["projects"])
_TYPE = EntityType.PROJECT


@router.get("")
def list_projects(session: SessionDep, user: CurrentUser, query: ListQuery) -> Page[ProjectPublic]:
    return crm_routes.page_of(session, user, _TYPE, ProjectPublic, query)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(session: SessionDep, user: CurrentUser, body: ProjectCreate) -> ProjectPublic:
    return ProjectPublic.model_validate(crm_routes.create(session, user, _TYPE, body))


@router.get("/{project_id}")
def get_project(session: SessionDep, user: CurrentUser, project_id: int) -> ProjectPublic:
    return crm_routes.public(session, user, ProjectPublic, service.get_entity(session, _TYPE, project_id))


@router.patch("/{project_id}")
def update_project(session: SessionDep, user: CurrentUser, project_id: int, body: ProjectUpdate) -> ProjectPublic:
    return ProjectPublic.model_validate(crm_routes.update(session, user, _TYPE, project_id, body))


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(session: SessionDep, user: CurrentUser, project_id: int) -> None:
    crm_routes.delete(session, user, _TYPE, project_id)
