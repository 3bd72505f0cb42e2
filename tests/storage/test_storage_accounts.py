"""Users, groups, password rules and hashing, tokens, web sessions and throttling, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from erpsync import accounts
from erpsync.errors import ConflictError, ValidationError
from erpsync.storage.db import Database
from erpsync.storage.tables import ApiToken, LoginThrottle, User, WebSession, utcnow

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
        with pytest.raises(ValidationError, match="at least 12"):
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


def _fail(database: Database, login: str, *, address: str, now: dt.datetime) -> None:
    with database.session() as session, pytest.raises(accounts.LoginFailedError):
        accounts.authenticate(session, login, "wrong password", address=address, now=now)


def test_failures_throttle_one_address_with_a_growing_delay(database: Database) -> None:
    # Throttling per login and address replaced the account lockout: the wait doubles, up to MAX_DELAY, then lifts.
    _add_user(database)
    now = utcnow()
    for _ in range(accounts.FREE_FAILURES):
        _fail(database, "ann", address="203.0.113.1", now=now)
    waits = []
    for _ in range(12):
        with database.session() as session, pytest.raises(accounts.LoginThrottledError) as throttled:
            accounts.authenticate(session, "ann", PASSWORD, address="203.0.113.1", now=now)
        waits.append(throttled.value.seconds)
        now += dt.timedelta(seconds=throttled.value.seconds)
        _fail(database, "ann", address="203.0.113.1", now=now)
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    with database.session() as session:  # the user elsewhere is not held up
        assert accounts.authenticate(session, "ann", PASSWORD, address="192.0.2.1", now=now).login == "ann"
    with database.session() as session:
        later = now + accounts.MAX_DELAY
        assert accounts.authenticate(session, "ann", PASSWORD, address="203.0.113.1", now=later).login == "ann"
    with database.session() as session:  # a success forgets that address's failures
        assert session.scalars(select(LoginThrottle)).all() == []


def test_unknown_logins_are_throttled_like_known_ones(database: Database) -> None:
    _add_user(database)
    now = utcnow()
    for login in ("ann", "nobody"):
        for _ in range(accounts.FREE_FAILURES):
            _fail(database, login, address="203.0.113.1", now=now)
        with database.session() as session, pytest.raises(accounts.LoginThrottledError) as throttled:
            accounts.authenticate(session, login, PASSWORD, address="203.0.113.1", now=now)
        assert throttled.value.user_message == "too many sign-in attempts; try again in 2 seconds"


def test_old_failures_are_forgotten(database: Database) -> None:
    now = utcnow()
    for _ in range(accounts.FREE_FAILURES):
        _fail(database, "nobody", address="203.0.113.1", now=now - accounts.FAILURE_MEMORY)
    _fail(database, "nobody", address="203.0.113.2", now=now)
    with database.session() as session:
        assert [(row.address, row.failures) for row in session.scalars(select(LoginThrottle))] == [("203.0.113.2", 1)]


def test_unlock_forgets_every_address(database: Database) -> None:
    user_id = _add_user(database)
    now = utcnow()
    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(accounts.FREE_FAILURES):
            _fail(database, "ANN ", address=address, now=now)  # counted under the trimmed, lower-cased name
    with database.session() as session:
        assert accounts.unlock(session, accounts.get_user(session, user_id)) == 2
    with database.session() as session:
        assert accounts.authenticate(session, "ann", PASSWORD, address="203.0.113.1", now=now).id == user_id


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
    for _ in range(accounts.FREE_FAILURES):
        _fail(database, "ann", address="unknown", now=utcnow())
    with database.session() as session:
        user = accounts.get_user(session, user_id)
        token = accounts.issue_token(session, user)
        web = accounts.start_web_session(session, user)
        accounts.update_user(session, user, password="another password")
    with database.session() as session:
        assert accounts.user_for_token(session, token) is None
        assert accounts.user_for_web_session(session, web) is None
        assert accounts.authenticate(session, "ann", "another password").id == user_id


def test_web_sessions_are_opaque_hashed_expiring_and_no_api_tokens(database: Database) -> None:
    user_id = _add_user(database)
    with database.session() as session:
        web = accounts.start_web_session(session, accounts.get_user(session, user_id))
        other = accounts.start_web_session(session, accounts.get_user(session, user_id))
    with database.session() as session:
        assert web not in session.scalars(select(WebSession.session_hash)).all()  # only a hash is stored
        assert session.scalars(select(ApiToken)).all() == []
        found = accounts.user_for_web_session(session, web)
        assert found is not None
        assert found.id == user_id
        assert accounts.user_for_token(session, web) is None  # not a bearer token
        assert accounts.user_for_web_session(session, web + "x") is None
        later = utcnow() + accounts.WEB_SESSION_LIFETIME
        assert accounts.user_for_web_session(session, web, now=later) is None
        accounts.end_web_session(session, web)
    with database.session() as session:
        assert accounts.user_for_web_session(session, web) is None
        assert accounts.user_for_web_session(session, other) is not None  # signing out ends that session only


def test_deactivation_ends_web_sessions_and_tokens(database: Database) -> None:
    user_id = _add_user(database)
    with database.session() as session:
        user = accounts.get_user(session, user_id)
        web, token = accounts.start_web_session(session, user), accounts.issue_token(session, user)
        accounts.update_user(session, user, active=False)
    with database.session() as session:
        assert session.scalars(select(WebSession)).all() == []
        assert session.scalars(select(ApiToken)).all() == []
        accounts.update_user(session, accounts.get_user(session, user_id), active=True)
    with database.session() as session:  # reactivating does not bring old sign-ins back
        assert accounts.user_for_web_session(session, web) is None
        assert accounts.user_for_token(session, token) is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("12345678", "at least 12"),
        ("short one", "at least 12"),
        (" " * 12, "only spaces"),
        ("\t \n" * 4, "only spaces"),
        ("qwerty123456", "most common"),
        ("QWERTY123456", "most common"),
        (" 1qaz2wsx3edc ", "most common"),
        ("Anna-Andersen", "login name"),
    ],
)
def test_weak_passwords_are_refused_everywhere_they_are_set(database: Database, password: str, message: str) -> None:
    user_id = _add_user(database, "anna-andersen")
    with database.session() as session:
        with pytest.raises(ValidationError, match=message):
            accounts.create_user(session, login="anna-andersen-2", password=password.replace("Andersen", "Andersen-2"))
        with pytest.raises(ValidationError, match=message):
            accounts.update_user(session, accounts.get_user(session, user_id), password=password)
    with database.session() as session:
        assert accounts.find_user(session, "anna-andersen-2") is None
        assert accounts.authenticate(session, "anna-andersen", PASSWORD).id == user_id  # the old password still works


def test_the_common_password_list_is_shipped_and_large() -> None:
    for password in ("1qaz2wsx3edc", "123qweasdzxc", "Leavemealone", "password1234", "Dragon2024!!", "iloveyou!!!!"):
        with pytest.raises(ValidationError, match="most common"):
            accounts.check_password(password)
    with pytest.raises(ValidationError, match="only digits"):
        accounts.check_password("123456789012")
    for password in ("correct horse battery", "erpsync-admin", "erpsync-user", "erpsync-guest", "a good password"):
        accounts.check_password(password)  # long, not on the list
