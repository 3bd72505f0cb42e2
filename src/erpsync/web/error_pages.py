"""The pages' answers to refused requests: sign in first, 403 (no right, no CSRF token), 404, and 422 for a NUL
character in a request, as HTML.

Public names: ``PageNotFoundError``, ``or_404``, ``add_error_pages``, ``nul_refused``, ``busy_page``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape

from erpsync.errors import NotFoundError
from erpsync.web import pages
from erpsync.web.csrf import CsrfRefusedError
from erpsync.web.i18n import Translator
from erpsync.web.security import ForbiddenError, LoginRequiredError

T = TypeVar("T")


class PageNotFoundError(Exception):
    """The record a page is about does not exist (or is not visible to this user)."""


def or_404(lookup: Callable[[], T]) -> T:
    try:
        return lookup()
    except NotFoundError as exc:
        raise PageNotFoundError from exc


async def _login_required(request: Request, _exc: Exception) -> Response:
    target = f"/login?next={quote(request.url.path)}"
    if pages.is_htmx(request):
        return Response(headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


def _error_page(status_code: int, message_key: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, _exc: Exception) -> Response:
        context = {"status": status_code, "message_key": message_key}
        return pages.render(request, "error.html", context, status_code=status_code)

    return handler


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ForbiddenError)
    context = {"status": status.HTTP_403_FORBIDDEN, "message_key": exc.message_key}
    return pages.render(request, "error.html", context, status_code=status.HTTP_403_FORBIDDEN)


def busy_page(request: Request, _message: str, headers: dict[str, str]) -> Response:
    """503 as a page: the database or a connector could not serve the request now (``Retry-After`` says when)."""
    context = {"status": status.HTTP_503_SERVICE_UNAVAILABLE, "message_key": "error.busy"}
    response = pages.render(request, "error.html", context, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    response.headers.update(headers)
    return response


def add_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequiredError, _login_required)
    app.add_exception_handler(ForbiddenError, _forbidden)
    app.add_exception_handler(CsrfRefusedError, _error_page(status.HTTP_403_FORBIDDEN, "error.csrf"))
    app.add_exception_handler(PageNotFoundError, _error_page(status.HTTP_404_NOT_FOUND, "error.not_found"))


async def nul_refused(request: Request) -> Response:
    """A form or link carrying U+0000 (``erpsync.http.request_checks``): the message alone for htmx, else a page."""
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    if pages.is_htmx(request):
        message = Translator(pages.language_of(request))("error.nul")
        return HTMLResponse(f'<p class="error" role="alert">{escape(message)}</p>', status_code=code)
    return pages.render(request, "error.html", {"status": code, "message_key": "error.nul"}, status_code=code)
