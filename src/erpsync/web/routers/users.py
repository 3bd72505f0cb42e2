"""Settings and maintenance -> Users and Groups (administrators): the users list with add, edit (name, administrator
role, ERP licence, active) and reset password dialogs; the groups list with add, edit (name, description, members)
and delete. The rules are those of the API and the command line (``erpsync.administration``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from erpsync import accounts, administration
from erpsync.errors import ErpsyncError, ValidationError
from erpsync.http.deps import SessionDep
from erpsync.storage.tables import Group, User
from erpsync.web import pages
from erpsync.web.error_pages import or_404
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.security import WebAdmin

USERS = "/settings/users"
GROUPS = "/settings/groups"
_LOGIN_LENGTH, _NAME_LENGTH, _PASSWORD_LENGTH, _DESCRIPTION_LENGTH = 64, 255, 1024, 10_000

router = page_router()


def _text(form: PostedForm, name: str, limit: int) -> str:
    text = str(form.get(name) or "").strip()
    if len(text) > limit:
        raise ValidationError(f"{name}: at most {limit} characters")
    return text


def _password(form: PostedForm) -> str:
    password = str(form.get("password") or "")
    if len(password) > _PASSWORD_LENGTH:
        raise ValidationError(f"password: at most {_PASSWORD_LENGTH} characters")
    if password != str(form.get("password_again") or ""):
        raise ValidationError("the two passwords differ")
    return password


def _licences(form: PostedForm) -> list[str]:
    return [accounts.Licence.ERP.value] if "licence_erp" in form else []


# --- users ------------------------------------------------------------------------------------------------------------


@router.get(USERS)
def users(request: Request, session: SessionDep, admin: WebAdmin) -> Response:
    context = {"users": accounts.list_users(session), "section": "settings", "settings_tab": "users"}
    return pages.render(request, "admin/users.html", context, user=admin)


def _user_dialog(
    request: Request, admin: User, user: User | None, values: dict[str, Any], error: str | None = None
) -> Response:
    context = {"edited": user, "values": values, "error": error, "back_url": USERS, "section": "settings"}
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK
    return pages.render_dialog(request, "admin/user_dialog.html", context, user=admin, status_code=code)


def _user_values(user: User) -> dict[str, Any]:
    return {
        "login": user.login,
        "name": user.name,
        "is_admin": user.is_admin,
        "licence_erp": accounts.has_licence(user, accounts.Licence.ERP),
        "active": user.active,
    }


def _posted_user(form: PostedForm) -> dict[str, Any]:
    return {
        "login": str(form.get("login") or "").strip()[:_LOGIN_LENGTH],
        "name": str(form.get("name") or "").strip()[:_NAME_LENGTH],
        "is_admin": "is_admin" in form,
        "licence_erp": "licence_erp" in form,
        "active": "active" in form,
    }


@router.get(f"{USERS}/new")
def new_user_dialog(request: Request, admin: WebAdmin) -> Response:
    return _user_dialog(request, admin, None, {"active": True})


@router.post(f"{USERS}/new")
def add_user(request: Request, session: SessionDep, admin: WebAdmin, form: PostedForm) -> Response:
    try:
        administration.create_user(
            session,
            login=_text(form, "login", _LOGIN_LENGTH),
            name=_text(form, "name", _NAME_LENGTH),
            password=_password(form),
            is_admin="is_admin" in form,
            licences=_licences(form),
            by=admin.id,
        )
    except ErpsyncError as error:
        return _user_dialog(request, admin, None, _posted_user(form), pages.error_text(request, error))
    return pages.redirect(request, f"{USERS}?saved=1")


def _user(session: Session, user_id: int) -> User:
    return or_404(lambda: accounts.get_user(session, user_id))


@router.get(USERS + "/{user_id}/edit")
def edit_user_dialog(request: Request, session: SessionDep, admin: WebAdmin, user_id: int) -> Response:
    user = _user(session, user_id)
    return _user_dialog(request, admin, user, _user_values(user))


@router.post(USERS + "/{user_id}/edit")
def edit_user(request: Request, session: SessionDep, admin: WebAdmin, form: PostedForm, user_id: int) -> Response:
    user = _user(session, user_id)
    try:
        changes = {
            "name": _text(form, "name", _NAME_LENGTH),
            "is_admin": "is_admin" in form,
            "licences": _licences(form),
            "active": "active" in form,
        }
        administration.update_user(session, user.id, changes, by=admin.id)
    except ErpsyncError as error:
        values = _posted_user(form) | {"login": user.login}
        return _user_dialog(request, admin, user, values, pages.error_text(request, error))
    return pages.redirect(request, f"{USERS}?saved=1")


def _password_dialog(request: Request, admin: User, user: User, error: str | None = None) -> Response:
    context = {"edited": user, "error": error, "back_url": USERS, "section": "settings"}
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK
    return pages.render_dialog(request, "admin/password_dialog.html", context, user=admin, status_code=code)


@router.get(USERS + "/{user_id}/password")
def password_dialog(request: Request, session: SessionDep, admin: WebAdmin, user_id: int) -> Response:
    return _password_dialog(request, admin, _user(session, user_id))


@router.post(USERS + "/{user_id}/password")
def reset_password(request: Request, session: SessionDep, admin: WebAdmin, form: PostedForm, user_id: int) -> Response:
    """A new password: it also unlocks the account and ends its sessions and API tokens."""
    user = _user(session, user_id)
    try:
        administration.update_user(session, user.id, {"password": _password(form)}, by=admin.id)
    except ErpsyncError as error:
        return _password_dialog(request, admin, user, pages.error_text(request, error))
    return pages.redirect(request, f"{USERS}?saved=1")


# --- groups -----------------------------------------------------------------------------------------------------------


@router.get(GROUPS)
def groups(request: Request, session: SessionDep, admin: WebAdmin) -> Response:
    context = {"groups": accounts.list_groups(session), "section": "settings", "settings_tab": "groups"}
    return pages.render(request, "admin/groups.html", context, user=admin)


def _group_dialog(
    request: Request,
    session: Session,
    admin: User,
    group: Group | None,
    values: dict[str, Any],
    error: str | None = None,
) -> Response:
    context = {
        "group": group,
        "values": values,
        "users": accounts.list_users(session),
        "error": error,
        "back_url": GROUPS,
        "section": "settings",
    }
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK
    return pages.render_dialog(request, "admin/group_dialog.html", context, user=admin, status_code=code)


def _member_ids(form: PostedForm) -> list[int]:
    texts = [str(value) for value in form.getlist("member")]
    if not all(text.isdigit() for text in texts):
        raise ValidationError("members: choose users from the list")
    return [int(text) for text in texts]


def _posted_group(form: PostedForm) -> dict[str, Any]:
    members = {int(str(v)) for v in form.getlist("member") if str(v).isdigit()}
    name, description = str(form.get("name") or "")[:_NAME_LENGTH], str(form.get("description") or "")
    return {"name": name, "description": description[:_DESCRIPTION_LENGTH], "members": members}


def _group_changes(form: PostedForm) -> dict[str, Any]:
    return {
        "name": _text(form, "name", _NAME_LENGTH),
        "description": _text(form, "description", _DESCRIPTION_LENGTH),
        "members": _member_ids(form),
    }


@router.get(f"{GROUPS}/new")
def new_group_dialog(request: Request, session: SessionDep, admin: WebAdmin) -> Response:
    return _group_dialog(request, session, admin, None, {"members": set()})


@router.post(f"{GROUPS}/new")
def add_group(request: Request, session: SessionDep, admin: WebAdmin, form: PostedForm) -> Response:
    try:
        changes = _group_changes(form)
        administration.create_group(
            session,
            name=changes["name"],
            description=changes["description"],
            member_ids=changes["members"],
            by=admin.id,
        )
    except ErpsyncError as error:
        return _group_dialog(request, session, admin, None, _posted_group(form), pages.error_text(request, error))
    return pages.redirect(request, f"{GROUPS}?saved=1")


def _group(session: Session, group_id: int) -> Group:
    return or_404(lambda: accounts.get_group(session, group_id))


@router.get(GROUPS + "/{group_id}/edit")
def edit_group_dialog(request: Request, session: SessionDep, admin: WebAdmin, group_id: int) -> Response:
    group = _group(session, group_id)
    values = {"name": group.name, "description": group.description, "members": {m.id for m in group.members}}
    return _group_dialog(request, session, admin, group, values)


@router.post(GROUPS + "/{group_id}/edit")
def edit_group(request: Request, session: SessionDep, admin: WebAdmin, form: PostedForm, group_id: int) -> Response:
    group = _group(session, group_id)
    try:
        changes = _group_changes(form)
        administration.update_group(
            session,
            group.id,
            name=changes["name"],
            description=changes["description"],
            member_ids=changes["members"],
            by=admin.id,
        )
    except ErpsyncError as error:
        return _group_dialog(request, session, admin, group, _posted_group(form), pages.error_text(request, error))
    return pages.redirect(request, f"{GROUPS}?saved=1")


def _confirm(request: Request, admin: User, group: Group) -> Response:
    context = {
        "title_key": "group.delete_title",
        "message": group.name,
        "action": f"{GROUPS}/{group.id}/delete",
        "back_url": GROUPS,
    }
    return pages.render_dialog(request, "confirm.html", context, user=admin)


@router.get(GROUPS + "/{group_id}/delete")
def confirm_delete_group(request: Request, session: SessionDep, admin: WebAdmin, group_id: int) -> Response:
    return _confirm(request, admin, _group(session, group_id))


@router.post(GROUPS + "/{group_id}/delete")
def delete_group(request: Request, session: SessionDep, admin: WebAdmin, group_id: int) -> Response:
    administration.delete_group(session, _group(session, group_id).id, by=admin.id)
    return pages.redirect(request, f"{GROUPS}?saved=1")
