"""``/lists/{name}``: any signed-in user reads a CRM list; administrators add and change its items."""

from __future__ import annotations

from fastapi import APIRouter, status

from erpsync import administration
from erpsync.crm import lists
from erpsync.crm.schemas import ListItemCreate, ListItemPublic, ListItemUpdate
from erpsync.http.deps import AdminUser, CurrentUser, SessionDep

router = APIRouter(prefix="/lists", tags=["lists"])


@router.get("/{name}")
def get_list(session: SessionDep, _user: CurrentUser, name: str, include_deleted: bool = False) -> list[ListItemPublic]:
    items = lists.list_items(session, lists.parse_list_name(name), include_deleted=include_deleted)
    return [ListItemPublic.model_validate(item) for item in items]


@router.post("/{name}", status_code=status.HTTP_201_CREATED)
def add_item(session: SessionDep, admin: AdminUser, name: str, body: ListItemCreate) -> ListItemPublic:
    item = administration.add_list_item(session, name, label=body.label, rank=body.rank, by=admin.id)
    return ListItemPublic.model_validate(item)


@router.patch("/{name}/{item_id}")
def update_item(session: SessionDep, admin: AdminUser, name: str, item_id: int, body: ListItemUpdate) -> ListItemPublic:
    item = administration.update_list_item(session, name, item_id, body.model_dump(exclude_unset=True), by=admin.id)
    return ListItemPublic.model_validate(item)
