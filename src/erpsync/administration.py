"""What administrators change outside the sync side: users, groups and the items of CRM lists.

Each change is one use case: one unit of work in the caller's session, audited (``by`` is the administrator, None on
the command line, which says so with ``via="cli"``). The API and the command line call these; they never write the
audit entry or end the transaction themselves.

Public names: ``create_user``, ``update_user``, ``delete_user``, ``create_group``, ``update_group``, ``delete_group``,
``add_list_item``, ``update_list_item``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from erpsync import accounts, audit
from erpsync.crm import countries, lists
from erpsync.errors import ConflictError
from erpsync.storage.tables import Group, ListItem, User
from erpsync.storage.unit_of_work import unit_of_work


def _via(via: str | None) -> dict[str, str]:
    return {"via": via} if via else {}


# --- users ------------------------------------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    login: str,
    password: str,
    name: str = "",
    is_admin: bool = False,
    licences: Iterable[accounts.Licence | str] = (),
    by: int | None,
    via: str | None = None,
) -> User:
    licences = list(licences)
    with unit_of_work(session):
        user = accounts.create_user(
            session, login=login, password=password, name=name, is_admin=is_admin, licences=licences
        )
        detail = {"login": login, "name": name, "is_admin": is_admin, "licences": licences} | _via(via)
        audit.record(session, user_id=by, action="create", target_type="user", target_id=user.id, detail=detail)
    return user


def update_user(
    session: Session, user_id: int, changes: Mapping[str, Any], *, by: int | None, via: str | None = None
) -> User:
    """Change the attributes in ``changes`` (those of ``accounts.update_user``); an administrator keeps their own role
    and stays active (``ConflictError``). The password never reaches the audit log, only that it changed."""
    with unit_of_work(session):
        user = accounts.get_user(session, user_id)
        if user.id == by and (changes.get("is_admin") is False or changes.get("active") is False):
            raise ConflictError("you cannot remove your own administrator role or deactivate yourself")
        accounts.update_user(session, user, **changes)
        detail = {k: v for k, v in changes.items() if k != "password"} | {"password_changed": "password" in changes}
        detail |= _via(via)
        audit.record(session, user_id=by, action="update", target_type="user", target_id=user.id, detail=detail)
    return user


def delete_user(session: Session, user_id: int, *, by: int | None, via: str | None = None) -> None:
    with unit_of_work(session):
        user = accounts.get_user(session, user_id)
        if user.id == by:
            raise ConflictError("you cannot delete yourself")
        detail = {"login": user.login} | _via(via)
        audit.record(session, user_id=by, action="delete", target_type="user", target_id=user.id, detail=detail)
        accounts.delete_user(session, user)


# --- groups -----------------------------------------------------------------------------------------------------------


def create_group(
    session: Session,
    *,
    name: str,
    description: str = "",
    member_ids: Iterable[int] = (),
    by: int | None,
    via: str | None = None,
) -> Group:
    member_ids = list(member_ids)
    with unit_of_work(session):
        group = accounts.create_group(session, name=name, description=description, member_ids=member_ids)
        detail = {"name": name, "description": description, "members": member_ids} | _via(via)
        audit.record(session, user_id=by, action="create", target_type="group", target_id=group.id, detail=detail)
    return group


def update_group(
    session: Session,
    group_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    member_ids: Iterable[int] | None = None,
    by: int | None,
    via: str | None = None,
) -> Group:
    member_ids = None if member_ids is None else list(member_ids)
    parts = {"name": name, "description": description, "members": member_ids}
    with unit_of_work(session):
        group = accounts.get_group(session, group_id)
        accounts.update_group(session, group, name=name, description=description, member_ids=member_ids)
        detail = {part: value for part, value in parts.items() if value is not None} | _via(via)
        audit.record(session, user_id=by, action="update", target_type="group", target_id=group.id, detail=detail)
    return group


def delete_group(session: Session, group_id: int, *, by: int | None, via: str | None = None) -> None:
    with unit_of_work(session):
        group = accounts.get_group(session, group_id)
        detail = {"name": group.name} | _via(via)
        audit.record(session, user_id=by, action="delete", target_type="group", target_id=group.id, detail=detail)
        accounts.delete_group(session, group)


# --- CRM list items ---------------------------------------------------------------------------------------------------


def add_list_item(
    session: Session, list_name: str, *, label: str, rank: int | None = None, by: int | None, via: str | None = None
) -> ListItem:
    with unit_of_work(session):
        item = lists.add_item(session, lists.parse_list_name(list_name), label=label, rank=rank)
        detail = {"label": label, "rank": rank} | _via(via)
        audit.record(
            session, user_id=by, action="create", target_type=f"list:{list_name}", target_id=item.id, detail=detail
        )
    return item


def fill_countries(session: Session, *, by: int | None, via: str | None = None) -> int:
    """A fresh hub's country list filled with every ISO 3166-1 country (``crm.countries``); how many were added, 0
    when the list was used already."""
    with unit_of_work(session):
        added = countries.fill_countries(session)
        if added:
            detail = {"items": added, "source": "ISO 3166-1"} | _via(via)
            audit.record(session, user_id=by, action="fill", target_type="list:country", target_id=None, detail=detail)
    return added


def update_list_item(
    session: Session,
    list_name: str,
    item_id: int,
    changes: Mapping[str, Any],
    *,
    by: int | None,
    via: str | None = None,
) -> ListItem:
    """Change the attributes in ``changes`` (``label``, ``rank``, ``deleted``)."""
    with unit_of_work(session):
        item = lists.update_item(session, lists.parse_list_name(list_name), item_id, **changes)
        target_type = f"list:{list_name}"
        audit.record(
            session,
            user_id=by,
            action="update",
            target_type=target_type,
            target_id=item.id,
            detail=dict(changes) | _via(via),
        )
    return item
