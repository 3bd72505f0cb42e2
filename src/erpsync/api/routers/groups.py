"""``/groups``: administrators manage groups of users and their members."""

from __future__ import annotations

from fastapi import APIRouter, status

from erpsync import accounts, administration
from erpsync.api.schemas import GroupCreate, GroupPublic, GroupUpdate, group_public
from erpsync.http.deps import AdminUser, SessionDep

router = APIRouter(prefix="/groups", tags=["groups"])


@router.get("")
def list_groups(session: SessionDep, _admin: AdminUser) -> list[GroupPublic]:
    return [group_public(group) for group in accounts.list_groups(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_group(session: SessionDep, admin: AdminUser, body: GroupCreate) -> GroupPublic:
    group = administration.create_group(
        session, name=body.name, description=body.description, member_ids=body.members, by=admin.id
    )
    return group_public(group)


@router.get("/{group_id}")
def get_group(session: SessionDep, _admin: AdminUser, group_id: int) -> GroupPublic:
    return group_public(accounts.get_group(session, group_id))


@router.patch("/{group_id}")
def update_group(session: SessionDep, admin: AdminUser, group_id: int, body: GroupUpdate) -> GroupPublic:
    group = administration.update_group(
        session, group_id, name=body.name, description=body.description, member_ids=body.members, by=admin.id
    )
    return group_public(group)


@router.delete("/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_group(session: SessionDep, admin: AdminUser, group_id: int) -> None:
    administration.delete_group(session, group_id, by=admin.id)
