"""Users, groups, roles and licences; password hashing (argon2id); bearer tokens; login lockout.

Public names: ``Licence``, ``hash_password``, ``verify_password``, ``create_user``, ``update_user``, ``get_user``,
``find_user``, ``list_users``, ``delete_user``, ``has_licence``, ``licences_of``, ``authenticate``,
``issue_token``, ``user_for_token``, ``revoke_token``, ``revoke_tokens``, ``create_group``, ``update_group``,
``get_group``,
``list_groups``, ``delete_group``, ``set_members``, ``group_ids_of``;
errors ``LoginFailedError``, ``AccountLockedError``;
policy constants ``MAX_FAILED_LOGINS``, ``LOCKOUT``, ``TOKEN_LIFETIME``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Iterable
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from erpsync.errors import AuthError, ConflictError, NotFoundError, ValidationError
from erpsync.storage.tables import ApiToken, Group, GroupMember, User, utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
TOKEN_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown, so a wrong login costs as much time as a wrong password.

    Made on first use, not at import: an argon2 hash takes 64 MiB and a fifth of a second in every process."""
    return _hasher.hash(secrets.token_urlsafe(16))


class Licence(StrEnum):
    ERP = "erp"


class LoginFailedError(AuthError):
    """Wrong login or password (which one is not said), or an inactive account."""


class AccountLockedError(AuthError):
    def __init__(self, until: dt.datetime) -> None:
        super().__init__(
            f"account locked after {MAX_FAILED_LOGINS} failed logins; try again after {until:%Y-%m-%d %H:%M} UTC"
        )
        self.until = until


# --- passwords -------------------------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- users -----------------------------------------------------------------------------------------------------------


def licences_of(user: User) -> set[Licence]:
    return {Licence(name) for name in user.licences.split(",") if name}


def has_licence(user: User, licence: Licence) -> bool:
    return licence in licences_of(user)


def _licences_text(licences: Iterable[Licence | str]) -> str:
    try:
        return ",".join(sorted({Licence(name).value for name in licences}))
    except ValueError as exc:
        raise ValidationError(f"unknown licence; known: {', '.join(Licence)}") from exc


def find_user(session: Session, login: str) -> User | None:
    return session.scalar(select(User).where(User.login == login))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def create_user(
    session: Session,
    *,
    login: str,
    password: str,
    name: str = "",
    is_admin: bool = False,
    licences: Iterable[Licence | str] = (),
) -> User:
    login = login.strip()
    if not login:
        raise ValidationError("login must not be empty")
    if find_user(session, login) is not None:
        raise ConflictError(f"a user with login {login!r} exists")
    user = User(
        login=login,
        name=name,
        password_hash=hash_password(password),
        is_admin=is_admin,
        licences=_licences_text(licences),
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user: User,
    *,
    name: str | None = None,
    password: str | None = None,
    is_admin: bool | None = None,
    licences: Iterable[Licence | str] | None = None,
    active: bool | None = None,
) -> User:
    """Change the given attributes; a new password also unlocks the account and ends its sessions."""
    if name is not None:
        user.name = name
    if is_admin is not None:
        user.is_admin = is_admin
    if licences is not None:
        user.licences = _licences_text(licences)
    if active is not None:
        user.active = active
    if password is not None:
        user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        revoke_tokens(session, user)
    session.flush()
    return user


def delete_user(session: Session, user: User) -> None:
    session.delete(user)
    session.flush()


# --- login and tokens ------------------------------------------------------------------------------------------------


def _locked_until(user: User, now: dt.datetime) -> dt.datetime | None:
    return user.locked_until if user.locked_until is not None and user.locked_until > now else None


def _register_failure(user: User, now: dt.datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0


def authenticate(session: Session, login: str, password: str, *, now: dt.datetime | None = None) -> User:
    """The user whose login and password these are; raises ``AccountLockedError`` or ``LoginFailedError``.

    Failures are counted in the caller's transaction: the caller commits even when this raises.
    """
    now = now or utcnow()
    user = find_user(session, login)
    if user is None:
        verify_password(_dummy_hash(), password)
        raise LoginFailedError("wrong login or password")
    if until := _locked_until(user, now):
        raise AccountLockedError(until)
    if not verify_password(user.password_hash, password):
        _register_failure(user, now)
        if until := _locked_until(user, now):
            raise AccountLockedError(until)
        raise LoginFailedError("wrong login or password")
    if not user.active:
        raise LoginFailedError("this account is deactivated")
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, *, lifetime: dt.timedelta = TOKEN_LIFETIME) -> str:
    """A new bearer token for ``user``; only its hash is stored, so this is the one time it is seen."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at <= now))  # housekeeping
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), expires_at=now + lifetime))
    session.flush()
    return token


def user_for_token(session: Session, token: str, *, now: dt.datetime | None = None) -> User | None:
    """The active user holding this unexpired token, or None."""
    now = now or utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def revoke_tokens(session: Session, user: User) -> None:
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def revoke_token(session: Session, token: str) -> None:
    """End one token (a sign-out), leaving the user's other sessions and API tokens alone."""
    session.execute(delete(ApiToken).where(ApiToken.token_hash == _token_hash(token)))


# --- groups ----------------------------------------------------------------------------------------------------------


def get_group(session: Session, group_id: int) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFoundError(f"no group with id {group_id}")
    return group


def list_groups(session: Session) -> list[Group]:
    return list(session.scalars(select(Group).order_by(Group.id)))


def _check_group_name(session: Session, name: str, *, exclude_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError("group name must not be empty")
    clash = session.scalar(select(Group).where(Group.name == name, Group.id != (exclude_id or 0)))
    if clash is not None:
        raise ConflictError(f"a group named {name!r} exists")
    return name


def create_group(session: Session, *, name: str, description: str = "", member_ids: Iterable[int] = ()) -> Group:
    group = Group(name=_check_group_name(session, name), description=description)
    session.add(group)
    session.flush()
    set_members(session, group, member_ids)
    return group


def update_group(
    session: Session,
    group: Group,
    *,
    name: str | None = None,
    description: str | None = None,
    member_ids: Iterable[int] | None = None,
) -> Group:
    if name is not None:
        group.name = _check_group_name(session, name, exclude_id=group.id)
    if description is not None:
        group.description = description
    if member_ids is not None:
        set_members(session, group, member_ids)
    session.flush()
    return group


def set_members(session: Session, group: Group, user_ids: Iterable[int]) -> None:
    """Replace the group's members; every id must be a user."""
    members = [session.get(User, user_id) for user_id in dict.fromkeys(user_ids)]
    unknown = [user_id for user_id, user in zip(dict.fromkeys(user_ids), members, strict=True) if user is None]
    if unknown:
        raise ValidationError(f"members: no user with id {', '.join(map(str, unknown))}")
    group.members = [user for user in members if user is not None]
    session.flush()


def delete_group(session: Session, group: Group) -> None:
    session.delete(group)
    session.flush()


def group_ids_of(session: Session, user: User) -> set[int]:
    return set(session.scalars(select(GroupMember.group_id).where(GroupMember.user_id == user.id)))
