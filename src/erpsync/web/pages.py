"""Rendering pages and dialogs: the shared template context (user, language, CSRF token) and htmx-aware answers.

A dialog is a fragment when htmx asks for it (the page opens it as a modal ``<dialog>``) and a whole page otherwise,
so every screen also works by plain links and form posts.

Public names: ``templates``, ``LANGUAGE_KEY``, ``language_of``, ``error_text``, ``text``, ``is_htmx``, ``render``,
``render_dialog``, ``redirect``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from erpsync import accounts
from erpsync.errors import ErpsyncError
from erpsync.storage.tables import User
from erpsync.sync.connection_config import InvalidConfigError
from erpsync.sync.erp_tab import RefusedRequestError
from erpsync.web import csrf
from erpsync.web.formats import Formats
from erpsync.web.i18n import LANGUAGES, Translator, pick_language
from erpsync.web.service_messages import ServiceText

LANGUAGE_KEY = "language"

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def language_of(request: Request) -> str:
    return pick_language(request.session.get(LANGUAGE_KEY), request.headers.get("accept-language", ""))


def error_text(request: Request, error: ErpsyncError) -> str:
    """An error's message for a page, in the page's language where the hub worded it itself."""
    if isinstance(error, RefusedRequestError) and error.codes and len(error.codes) == len(error.problems):
        said = ServiceText(Translator(language_of(request)))  # search criteria's problems, worded here
        return "; ".join(said.criterion(code, values) for code, values in error.codes)
    if isinstance(error, InvalidConfigError):  # a connection's config values, worded here
        return ServiceText(Translator(language_of(request))).config_problems(error.problems)
    return ServiceText(Translator(language_of(request)))(error.user_message)  # as the service layer words it, if known


def text(request: Request, key: str) -> str:
    """One message of the catalogue in the page's language."""
    return Translator(language_of(request))(key)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    user: User | None = None,
    status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    language = language_of(request)
    shared = {
        "user": user,
        "erp_user": user is not None and (user.is_admin or accounts.has_licence(user, accounts.Licence.ERP)),
        "t": Translator(language),
        "formats": Formats(language),
        "said": ServiceText(Translator(language)),
        "language": language,
        "languages": LANGUAGES,
        "csrf_token": csrf.token_for(request),
        "csrf_field": csrf.CSRF_FIELD,
        "csrf_header": csrf.CSRF_HEADER,
        "htmx": is_htmx(request),
    }
    return templates.TemplateResponse(request, template, {**shared, **(context or {})}, status_code=status_code)


def render_dialog(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: User,
    status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    """The dialog alone for htmx, or inside the page layout; ``context['back_url']`` is where Cancel leads."""
    page = template if is_htmx(request) else "dialog_page.html"
    return render(request, page, {**context, "dialog_template": template}, user=user, status_code=status_code)


def redirect(request: Request, url: str) -> Response:
    """After a successful post: htmx follows ``HX-Redirect``; a plain form post gets 303 See Other."""
    if is_htmx(request):
        return Response(status_code=status.HTTP_200_OK, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)
