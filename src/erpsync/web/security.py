"""Who is signed in to the web UI: a signed session cookie holding an opaque web session id of ``erpsync.accounts``.

The id is random, stored only as a hash, expires, and ends on sign-out, on a password change and on deactivation; it is
not an API bearer token, so a stolen cookie opens no API. The cookie is signed with a key derived from the hub's secret
key (``erpsync.crypto``).

Public names: ``SESSION_COOKIE``, ``SESSION_MAX_AGE_SECONDS``, ``session_signing_key``, ``sign_in``, ``sign_out``,
``WebUser``, ``WebAdmin``, ``WebLicensed``, ``LoginRequiredError``, ``ForbiddenError``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from erpsync import accounts, crypto, logins
from erpsync.http.deps import DatabaseDep
from erpsync.settings import Settings
from erpsync.storage.tables import User
from erpsync.web import csrf
from erpsync.web.pages import LANGUAGE_KEY

SESSION_COOKIE = "erpsync_session"
SESSION_MAX_AGE_SECONDS = int(accounts.WEB_SESSION_LIFETIME.total_seconds())
_SESSION_ID_KEY = "sid"
_KEY_PURPOSE = b"erpsync web session cookies v1"


class LoginRequiredError(Exception):
    """No valid sign-in: the page sends the browser to the login page."""


class ForbiddenError(Exception):
    """Signed in, but without the right this page needs; ``message_key`` says which right, in the page's words."""

    def __init__(self, message_key: str = "error.forbidden") -> None:
        super().__init__(message_key)
        self.message_key = message_key


def session_signing_key(settings: Settings) -> str:
    # Derived, not the encryption key itself: one leaked purpose must not give away the other.
    if settings.secret_key:
        base = crypto.key_from_secret(settings.secret_key)
    else:
        base = crypto.load_or_create_key_file(settings.data_dir / crypto.KEY_FILE_NAME)
    return hmac.new(base, _KEY_PURPOSE, hashlib.sha256).hexdigest()


def sign_in(request: Request, web_session_id: str) -> None:
    """The browser's cookie gets the id of the web session ``logins.start_web_session`` started."""
    request.session[_SESSION_ID_KEY] = web_session_id
    csrf.renew(request)


def sign_out(request: Request, session: Session) -> None:
    """End the sign-in: the web session is ended server-side, not only forgotten by the browser."""
    session_id = request.session.get(_SESSION_ID_KEY)
    if isinstance(session_id, str):
        logins.end_web_session(session, session_id)
    # The language is the browser's choice, not the account's: it outlives the sign-in.
    language = request.session.get(LANGUAGE_KEY)
    request.session.clear()
    if language:
        request.session[LANGUAGE_KEY] = language


def optional_user(request: Request, database: DatabaseDep) -> User | None:
    """The signed-in user, read in a short read-only transaction of its own (see ``erpsync.http.deps``)."""
    session_id = request.session.get(_SESSION_ID_KEY)
    if not isinstance(session_id, str):
        return None
    with database.read_session() as session:
        user = accounts.user_for_web_session(session, session_id)
        if user is not None:
            session.expunge(user)
    return user


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise LoginRequiredError
    return user


WebUser = Annotated[User, Depends(current_user)]


def admin_user(user: WebUser) -> User:
    if not user.is_admin:
        raise ForbiddenError
    return user


WebAdmin = Annotated[User, Depends(admin_user)]


def licensed_user(user: WebUser) -> User:
    if not accounts.has_licence(user, accounts.Licence.ERP):
        raise ForbiddenError("error.no_licence")
    return user


WebLicensed = Annotated[User, Depends(licensed_user)]
