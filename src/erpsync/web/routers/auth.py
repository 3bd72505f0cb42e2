"""Sign in and out, the start page and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from erpsync import accounts
from erpsync.api.deps import SessionDep
from erpsync.storage.tables import User
from erpsync.web import pages, security
from erpsync.web.i18n import LANGUAGES, Translator
from erpsync.web.routers import page_router

router = page_router()

START_PAGE = "/companies"


def _local_path(url: str | None, default: str = START_PAGE) -> str:
    # Only paths on this site: "//host" or "https://host" would make the login page an open redirect.
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


@router.get("/")
def start(user: Annotated[User | None, Depends(security.optional_user)]) -> Response:
    return RedirectResponse(START_PAGE if user else "/login", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return pages.render(request, "login.html", {"next": _local_path(next), "login": "", "error": None})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = START_PAGE,
) -> Response:
    t = Translator(pages.language_of(request))
    try:
        user = accounts.authenticate(session, username, password)
    except accounts.AccountLockedError as exc:
        session.commit()
        error = t("login.locked", until=f"{exc.until:%Y-%m-%d %H:%M} UTC")
    except accounts.LoginFailedError:
        session.commit()  # the failure count is what makes the lockout work
        error = t("login.failed")
    else:
        security.sign_in(request, accounts.issue_token(session, user))
        session.commit()
        return RedirectResponse(_local_path(next), status_code=status.HTTP_303_SEE_OTHER)
    context = {"next": _local_path(next), "login": username, "error": error}
    return pages.render(request, "login.html", context, status_code=status.HTTP_401_UNAUTHORIZED)


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    security.sign_out(request, session)
    return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/language")
def choose_language(
    request: Request,
    language: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if language in LANGUAGES:
        request.session[pages.LANGUAGE_KEY] = language
    return RedirectResponse(_local_path(next, "/"), status_code=status.HTTP_303_SEE_OTHER)
