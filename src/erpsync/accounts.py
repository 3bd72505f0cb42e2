"""Users, groups, roles and licences; password rules and hashing (argon2id); bearer tokens; web sessions; throttling
of failed sign-ins.

Public names: ``Licence``, ``check_password``, ``hash_password``, ``verify_password``, ``create_user``,
``update_user``, ``get_user``, ``find_user``, ``list_users``, ``delete_user``, ``has_licence``, ``licences_of``,
``authenticate``, ``failed_before``, ``unlock``, ``throttle_key``, ``issue_token``, ``token_holder``,
``user_for_token``, ``revoke_token``, ``revoke_tokens``, ``start_web_session``, ``user_for_web_session``,
``end_web_session``, ``create_group``, ``update_group``, ``get_group``, ``list_groups``, ``delete_group``,
``set_members``, ``group_ids_of``;
errors ``LoginFailedError``, ``LoginThrottledError``;
policy constants ``MIN_PASSWORD_LENGTH``, ``FREE_FAILURES``, ``FIRST_DELAY``, ``MAX_DELAY``, ``FAILURE_MEMORY``,
``TOKEN_LIFETIME``, ``WEB_SESSION_LIFETIME``.

Failed sign-ins are throttled per login name and client address, never per account alone: after ``FREE_FAILURES``
failures that address waits 2, 4, 8, ... seconds (at most ``MAX_DELAY``) before it may try that name again, while the
same user signing in from anywhere else is not held up. Unknown names are throttled exactly like known ones, so the
answers do not tell which accounts exist.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import secrets
from collections.abc import Iterable
from enum import StrEnum
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from erpsync import sign_ins
from erpsync.crypto import token_digest
from erpsync.errors import AuthError, ConflictError, NotFoundError, ValidationError
from erpsync.storage.tables import ApiToken, Group, GroupMember, LoginThrottle, User, WebSession, utcnow

TOKEN_LIFETIME = dt.timedelta(hours=12)
WEB_SESSION_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD_LENGTH = 12
FREE_FAILURES = 3
FIRST_DELAY = dt.timedelta(seconds=2)
MAX_DELAY = dt.timedelta(minutes=15)
FAILURE_MEMORY = dt.timedelta(hours=24)
_SUFFIX_CHARACTERS = "0123456789!?.,;:-_#*+@$%&/ "  # what people append to a common password to pass a length rule
_MIN_STEM = 6
_LOGIN_KEY_LENGTH = 64  # User.login's length: a longer name cannot be an account
_ADDRESS_LENGTH = 64  # LoginThrottle.address: an IPv6 address takes at most 45

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown, so a wrong login costs as much time as a wrong password.

    Made on first use, not at import: an argon2 hash takes 64 MiB and a fifth of a second in every process."""
    return _hasher.hash(secrets.token_urlsafe(16))


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (``data/common-passwords.txt.gz``; ``scripts/common_passwords.py`` says
    where they come from), lower-case."""
    packed = resources.files("erpsync").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(packed).decode().split("\n")) - {""}


class Licence(StrEnum):
    ERP = "erp"


class LoginFailedError(AuthError):
    """Wrong login or password (which one is not said), or an inactive account."""


class LoginThrottledError(AuthError):
    """Too many failed sign-ins for this login name from this address: wait ``retry_after`` before the next one."""

    def __init__(self, retry_after: dt.timedelta) -> None:
        self.seconds = max(1, int(retry_after.total_seconds() + 0.999))
        super().__init__(f"too many sign-in attempts; try again in {self.seconds} seconds")


# --- passwords -------------------------------------------------------------------------------------------------------


def check_password(password: str, *, login: str = "") -> None:
    """Raise ``ValidationError`` unless ``password`` is long enough, not blank, not only digits, not common (nor a
    common one with digits or symbols added at the end) and not the login."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise ValidationError("password must not be only spaces")
    folded = password.strip().lower()
    if folded.isdigit():
        raise ValidationError("password must not be only digits")
    stem = folded.rstrip(_SUFFIX_CHARACTERS)
    if folded in _common_passwords() or (len(stem) >= _MIN_STEM and stem in _common_passwords()):
        raise ValidationError("password is one of the most common passwords; choose another")
    if login and folded == login.strip().lower():
        raise ValidationError("password must not be the login name")


def hash_password(password: str, *, login: str = "") -> str:
    check_password(password, login=login)
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
        password_hash=hash_password(password, login=login),
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
    """Change the given attributes; a new password also unlocks the account and ends its sessions and API tokens, and
    so does deactivating it."""
    if password is not None:
        user.password_hash = hash_password(password, login=user.login)
        unlock(session, user)
        _end_sign_ins(session, user)
    if name is not None:
        user.name = name
    if is_admin is not None:
        user.is_admin = is_admin
    if licences is not None:
        user.licences = _licences_text(licences)
    if active is not None:
        if user.active and not active:
            _end_sign_ins(session, user)
        user.active = active
    session.flush()
    sign_ins.forget_after_commit(session)  # the processes' kept copies of the user are stale once this commits
    return user


def delete_user(session: Session, user: User) -> None:
    session.delete(user)
    session.flush()
    sign_ins.forget_after_commit(session)


# --- sign-in and throttling ------------------------------------------------------------------------------------------


def throttle_key(login: str) -> str:
    """The name failures are counted under: what was typed, trimmed and lower-cased, known account or not."""
    return login.strip().lower()[:_LOGIN_KEY_LENGTH]


def _delay_after(failures: int) -> dt.timedelta:
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    delay: dt.timedelta = FIRST_DELAY * 2 ** min(failures - FREE_FAILURES, 20)
    return min(delay, MAX_DELAY)


def _throttle(session: Session, key: str, address: str) -> LoginThrottle | None:
    return session.scalar(select(LoginThrottle).where(LoginThrottle.login == key, LoginThrottle.address == address))


def failed_before(session: Session, login: str, *, address: str) -> bool:
    """Whether ``address`` failed to sign in as ``login`` within ``FAILURE_MEMORY``."""
    throttle = _throttle(session, throttle_key(login), address[:_ADDRESS_LENGTH])
    return throttle is not None and throttle.last_failure_at > utcnow() - FAILURE_MEMORY


def _register_failure(session: Session, key: str, address: str, now: dt.datetime) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at <= now - FAILURE_MEMORY))
    throttle = _throttle(session, key, address)
    if throttle is None:
        try:
            with session.begin_nested():  # a concurrent failure may have made the row first
                throttle = LoginThrottle(login=key, address=address, failures=0, last_failure_at=now)
                session.add(throttle)
        except IntegrityError:
            throttle = _throttle(session, key, address)
            assert throttle is not None
    throttle.failures += 1
    throttle.last_failure_at = now
    delay = _delay_after(throttle.failures)
    throttle.blocked_until = now + delay if delay else None
    session.flush()


def authenticate(
    session: Session, login: str, password: str, *, address: str = "unknown", now: dt.datetime | None = None
) -> User:
    """The user whose login and password these are; raises ``LoginThrottledError`` or ``LoginFailedError``.

    ``address`` is the client's; failures are counted in the caller's transaction: the caller commits even when this
    raises. A throttled attempt is refused before any password is checked, for known and unknown names alike.
    """
    now = now or utcnow()
    key, address = throttle_key(login), address[:_ADDRESS_LENGTH]
    throttle = _throttle(session, key, address)
    if throttle is not None and throttle.blocked_until is not None and throttle.blocked_until > now:
        raise LoginThrottledError(throttle.blocked_until - now)
    user = find_user(session, login)
    if not verify_password(user.password_hash if user else _dummy_hash(), password) or user is None:
        _register_failure(session, key, address, now)
        raise LoginFailedError("wrong login or password")
    if not user.active:
        raise LoginFailedError("this account is deactivated")
    if throttle is not None:
        session.delete(throttle)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def unlock(session: Session, user: User) -> int:
    """Forget the failed sign-ins for ``user``'s login from every address; the number of addresses it was held at."""
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.login == throttle_key(user.login)))
    return int(getattr(result, "rowcount", 0) or 0)


# --- bearer tokens and web sessions ----------------------------------------------------------------------------------


def issue_token(session: Session, user: User, *, lifetime: dt.timedelta = TOKEN_LIFETIME) -> str:
    """A new bearer token for ``user``; only its hash is stored, so this is the one time it is seen."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at <= now))  # housekeeping
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), expires_at=now + lifetime))
    session.flush()
    return token


def token_holder(session: Session, token: str, *, now: dt.datetime | None = None) -> tuple[User, dt.datetime] | None:
    """The active user holding this unexpired token and when the token expires, or None."""
    now = now or utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    return (user, row.expires_at) if user is not None and user.active else None


def user_for_token(session: Session, token: str, *, now: dt.datetime | None = None) -> User | None:
    """The active user holding this unexpired token, or None."""
    holder = token_holder(session, token, now=now)
    return holder[0] if holder else None


def revoke_tokens(session: Session, user: User) -> None:
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    sign_ins.forget_after_commit(session)


def revoke_token(session: Session, token: str) -> None:
    """End one token, leaving the user's other sessions and API tokens alone."""
    session.execute(delete(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    sign_ins.forget_after_commit(session)


def start_web_session(session: Session, user: User, *, lifetime: dt.timedelta = WEB_SESSION_LIFETIME) -> str:
    """A new web session id for the cookie; only its hash is stored. It is no bearer token: the API refuses it."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at <= now))
    session.add(WebSession(user_id=user.id, session_hash=token_digest(session_id), expires_at=now + lifetime))
    session.flush()
    return session_id


def user_for_web_session(session: Session, session_id: str, *, now: dt.datetime | None = None) -> User | None:
    """The active user signed in with this unexpired web session, or None."""
    now = now or utcnow()
    row = session.scalar(select(WebSession).where(WebSession.session_hash == token_digest(session_id)))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def end_web_session(session: Session, session_id: str) -> None:
    """Sign out of one web session, leaving the user's other sessions and API tokens alone."""
    session.execute(delete(WebSession).where(WebSession.session_hash == token_digest(session_id)))


def _end_sign_ins(session: Session, user: User) -> None:
    revoke_tokens(session, user)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


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
