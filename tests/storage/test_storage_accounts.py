"""Users, groups, password hashing, tokens and lockout, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from erpsync import accounts
from erpsync.errors import ConflictError, ValidationError
from erpsync.storage.db import Database
from erpsync.storage.tables import ApiToken, User, utcnow

PASSWORD = "correct horse"


def _add_user(database: Database, login: str = "ann", **kwargs: object) -> int:
    with database.session() as session:
        return accounts.create_user(session, login=login, password=PASSWORD, **kwargs).id  # type: ignore[arg-type]


def test_passwords_are_stored_as_argon2_hashes(database: Database) -> None:
    _add_user(database)
    with database.session() as session:
        user = session.scalars(select(User)).one()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert accounts.verify_password(user.password_hash, PASSWORD)
    assert not accounts.verify_password(user.password_hash, PASSWORD + "!")
    assert not accounts.verify_password("not a hash", PASSWORD)


def test_bad_users_are_refused(database: Database) -> None:
    _add_user(database)
    with database.session() as session:
        with pytest.raises(ConflictError):
            accounts.create_user(session, login="ann", password=PASSWORD)
        with pytest.raises(ValidationError, match="at least 8"):
            accounts.create_user(session, login="bob", password="short")
        with pytest.raises(ValidationError, match="licence"):
            accounts.create_user(session, login="bob", password=PASSWORD, licences=["crm-pro"])


def test_authenticate_and_tokens(database: Database) -> None:
    _add_user(database, licences=["erp"])
    with database.session() as session:
        user = accounts.authenticate(session, "ann", PASSWORD)
        token = accounts.issue_token(session, user)
        assert accounts.has_licence(user, accounts.Licence.ERP)
    with database.session() as session:
        assert session.scalars(select(ApiToken.token_hash)).one() != token  # only a hash is stored
        found = accounts.user_for_token(session, token)
        assert found is not None
        assert found.login == "ann"
        assert accounts.user_for_token(session, token + "x") is None
        assert accounts.user_for_token(session, token, now=utcnow() + accounts.TOKEN_LIFETIME) is None


def test_lockout_after_repeated_failures(database: Database) -> None:
    _add_user(database)
    now = utcnow()
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        with database.session() as session, pytest.raises(accounts.LoginFailedError):
            accounts.authenticate(session, "ann", "wrong password", now=now)
    with database.session() as session, pytest.raises(accounts.AccountLockedError, match="locked"):
        accounts.authenticate(session, "ann", "wrong password", now=now)
    with database.session() as session, pytest.raises(accounts.AccountLockedError):
        accounts.authenticate(session, "ann", PASSWORD, now=now + dt.timedelta(minutes=1))
    with database.session() as session:
        later = now + accounts.LOCKOUT + dt.timedelta(seconds=1)
        assert accounts.authenticate(session, "ann", PASSWORD, now=later).login == "ann"


def test_unknown_and_inactive_logins_fail_alike(database: Database) -> None:
    user_id = _add_user(database)
    with database.session() as session:
        accounts.update_user(session, accounts.get_user(session, user_id), active=False)
    with database.session() as session:
        with pytest.raises(accounts.LoginFailedError):
            accounts.authenticate(session, "nobody", PASSWORD)
        with pytest.raises(accounts.LoginFailedError, match="deactivated"):
            accounts.authenticate(session, "ann", PASSWORD)


def test_a_new_password_ends_sessions_and_unlocks(database: Database) -> None:
    user_id = _add_user(database)
    with database.session() as session:
        user = accounts.get_user(session, user_id)
        token = accounts.issue_token(session, user)
        user.locked_until = utcnow() + accounts.LOCKOUT
        accounts.update_user(session, user, password="another password")
    with database.session() as session:
        assert accounts.user_for_token(session, token) is None
        assert accounts.authenticate(session, "ann", "another password").id == user_id


def test_groups_and_members(database: Database) -> None:
    ann, bob = _add_user(database, "ann"), _add_user(database, "bob")
    with database.session() as session:
        group = accounts.create_group(session, name="Sales", member_ids=[ann, bob, ann])
        group_id = group.id
        assert [m.login for m in group.members] == ["ann", "bob"]
        with pytest.raises(ConflictError):
            accounts.create_group(session, name="Sales")
        with pytest.raises(ValidationError, match="no user with id 999"):
            accounts.set_members(session, group, [ann, 999])
    with database.session() as session:
        assert accounts.group_ids_of(session, accounts.get_user(session, bob)) == {group_id}
        accounts.delete_user(session, accounts.get_user(session, bob))
    with database.session() as session:
        assert [m.login for m in accounts.get_group(session, group_id).members] == ["ann"]
