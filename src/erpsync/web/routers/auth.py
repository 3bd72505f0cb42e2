"""Sign in and out, the start page and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from erpsync import accounts, logins
from erpsync.http.deps import SessionDep
from erpsync.http.rate_limit import ClientAddress, LoginLimiterDep
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
    limiter: LoginLimiterDep,
    address: ClientAddress,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = START_PAGE,
) -> Response:
    t = Translator(pages.language_of(request))
    headers: dict[str, str] = {}
    try:
        web_session_id = logins.start_web_session(session, limiter, login=username, password=password, address=address)
    except accounts.LoginThrottledError as exc:
        error, code = t("login.throttled", seconds=exc.seconds), status.HTTP_429_TOO_MANY_REQUESTS
        headers["Retry-After"] = str(exc.seconds)
    except accounts.LoginFailedError:
        error, code = t("login.failed"), status.HTTP_401_UNAUTHORIZED
    else:
        security.sign_in(request, web_session_id)
        return RedirectResponse(_local_path(next), status_code=status.HTTP_303_SEE_OTHER)
    context = {"next": _local_path(next), "login": username, "error": error}
    answer = pages.render(request, "login.html", context, status_code=code)
    answer.headers.update(headers)
    return answer


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
