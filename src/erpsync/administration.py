"""Administering users and groups: the use cases the API, the pages and the command line share, each audited, with
the rules of ``accounts`` (password rules, unique logins and group names, known licences) and the one an
administrator meets only here: nobody removes their own administrator role, deactivates or deletes themselves.

The callers end the transaction (commit, or roll back on an error).

Public names: ``create_user``, ``update_user``, ``delete_user``, ``create_group``, ``update_group``, ``delete_group``,
``check_own_account``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from erpsync import accounts, audit
from erpsync.errors import ConflictError
from erpsync.storage.tables import Group, User


def check_own_account(admin: User | None, user: User, changes: dict[str, Any]) -> None:
    """Refuse an administrator removing their own administrator role or deactivating themselves."""
    demoting = changes.get("is_admin") is False or changes.get("active") is False
    if admin is not None and user.id == admin.id and demoting:
        raise ConflictError("you cannot remove your own administrator role or deactivate yourself")


def create_user(
    session: Session,
    admin: User | None,
    *,
    login: str,
    password: str,
    name: str = "",
    is_admin: bool = False,
    licences: Iterable[str] = (),
    via: str | None = None,
) -> User:
    """A new user; ``via`` names the way in for the audit log when it is not the API or the pages (``"cli"``)."""
    licences = list(licences)
    user = accounts.create_user(
        session, login=login, password=password, name=name, is_admin=is_admin, licences=licences
    )
    detail = {"login": user.login, "name": name, "is_admin": is_admin, "licences": licences} | _via(via)
    audit.record(session, user_id=_id(admin), action="create", target_type="user", target_id=user.id, detail=detail)
    return user


def update_user(session: Session, admin: User | None, user: User, changes: dict[str, Any]) -> User:
    """Apply ``changes`` (name, password, is_admin, licences, active); a new password is audited, never its value."""
    check_own_account(admin, user, changes)
    accounts.update_user(session, user, **changes)
    detail = {k: v for k, v in changes.items() if k != "password"} | {"password_changed": "password" in changes}
    audit.record(session, user_id=_id(admin), action="update", target_type="user", target_id=user.id, detail=detail)
    return user


def delete_user(session: Session, admin: User | None, user: User) -> None:
    if admin is not None and user.id == admin.id:
        raise ConflictError("you cannot delete yourself")
    detail = {"login": user.login}
    audit.record(session, user_id=_id(admin), action="delete", target_type="user", target_id=user.id, detail=detail)
    accounts.delete_user(session, user)


def create_group(
    session: Session,
    admin: User | None,
    *,
    name: str,
    description: str = "",
    member_ids: Iterable[int] = (),
    via: str | None = None,
) -> Group:
    members = list(member_ids)
    group = accounts.create_group(session, name=name, description=description, member_ids=members)
    detail = {"name": name, "description": description, "members": members} | _via(via)
    audit.record(session, user_id=_id(admin), action="create", target_type="group", target_id=group.id, detail=detail)
    return group


def update_group(session: Session, admin: User | None, group: Group, changes: dict[str, Any]) -> Group:
    """Apply ``changes`` (name, description, members: a list of user ids)."""
    accounts.update_group(
        session,
        group,
        name=changes.get("name"),
        description=changes.get("description"),
        member_ids=changes.get("members"),
    )
    audit.record(session, user_id=_id(admin), action="update", target_type="group", target_id=group.id, detail=changes)
    return group


def delete_group(session: Session, admin: User | None, group: Group) -> None:
    detail = {"name": group.name}
    audit.record(session, user_id=_id(admin), action="delete", target_type="group", target_id=group.id, detail=detail)
    accounts.delete_group(session, group)


def _id(admin: User | None) -> int | None:
    return admin.id if admin is not None else None


def _via(via: str | None) -> dict[str, str]:
    return {"via": via} if via else {}
