"""``/users``: administrators list, create, read, change, unlock and delete users; password hashes are never
returned."""

from __future__ import annotations

from fastapi import APIRouter, status

from erpsync import accounts, administration, logins
from erpsync.api.schemas import UserCreate, UserPublic, UserUpdate, user_public
from erpsync.http.deps import AdminUser, SessionDep
from erpsync.http.rate_limit import LoginLimiterDep

router = APIRouter(prefix="/users", tags=["users"])


@router.get("")
def list_users(session: SessionDep, _admin: AdminUser) -> list[UserPublic]:
    return [user_public(user) for user in accounts.list_users(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, admin: AdminUser, body: UserCreate) -> UserPublic:
    user = administration.create_user(
        session,
        login=body.login,
        password=body.password,
        name=body.name,
        is_admin=body.is_admin,
        licences=body.licences,
        by=admin.id,
    )
    return user_public(user)


@router.get("/{user_id}")
def get_user(session: SessionDep, _admin: AdminUser, user_id: int) -> UserPublic:
    return user_public(accounts.get_user(session, user_id))


@router.patch("/{user_id}")
def update_user(session: SessionDep, admin: AdminUser, user_id: int, body: UserUpdate) -> UserPublic:
    return user_public(administration.update_user(session, user_id, body.model_dump(exclude_unset=True), by=admin.id))


@router.post("/{user_id}/unlock", status_code=status.HTTP_204_NO_CONTENT)
def unlock_user(session: SessionDep, admin: AdminUser, limiter: LoginLimiterDep, user_id: int) -> None:
    """Lift the throttling of failed sign-ins on this user's login, from every address."""
    logins.unlock_user(session, limiter, user_id, by=admin.id)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(session: SessionDep, admin: AdminUser, user_id: int) -> None:
    administration.delete_user(session, user_id, by=admin.id)
