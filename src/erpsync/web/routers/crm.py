"""Company, person and project screens: list with search and paging, view, create, edit, delete with confirmation.

Each family gets the same routes under its own path (``/companies``, ``/persons``, ``/projects``); writes go through
``erpsync.crm.service`` tagged with the signed-in user, exactly as the API's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, status
from fastapi.responses import Response

from erpsync.crm import edits, service
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import EntityType
from erpsync.http.deps import SessionDep
from erpsync.storage.tables import User
from erpsync.sync import crm_edits
from erpsync.web import crm_forms, pages, segments
from erpsync.web.error_pages import or_404
from erpsync.web.i18n import Translator
from erpsync.web.routers import PostedForm, erp_tab, page_router
from erpsync.web.security import WebUser

PAGE_SIZE = 25

router = page_router()


class _Screens:
    """The screens of one entity family."""

    def __init__(self, segment: str, entity_type: EntityType) -> None:
        self.segment = segment
        self.entity_type = entity_type
        self.base = f"/{segment}"

    def context(self, session: SessionDep, **extra: Any) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "section": self.segment,
            "entity_type": self.entity_type.value,
            "base": self.base,
            "fields": crm_forms.form_fields(self.entity_type),
            "options": crm_forms.choices(session, self.entity_type),
            "display": crm_forms.display_value,
            "title_of": crm_forms.title_of,
            **extra,
        }

    def list_page(
        self, request: Request, session: SessionDep, user: User, q: str, page: int, *, inactive: bool
    ) -> Response:
        entities, total = service.list_entities(
            session,
            self.entity_type,
            q=q or None,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            include_inactive=inactive,
        )
        context = self.context(
            session,
            entities=entities,
            total=total,
            q=q,
            inactive=inactive,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            first=(page - 1) * PAGE_SIZE + 1,
            columns=crm_forms.LIST_COLUMNS[self.entity_type],
        )
        return pages.render(request, "crm/list.html", context, user=user)

    def view_page(self, request: Request, session: SessionDep, user: User, entity_id: int) -> Response:
        entity = or_404(lambda: service.get_entity(session, self.entity_type, entity_id))
        context = self.context(session, entity=entity, erp_tab_visible=erp_tab.tab_visible(session, user))
        return pages.render(request, "crm/view.html", context, user=user)

    def form_page(
        self,
        request: Request,
        session: SessionDep,
        user: User,
        *,
        entity: service.Entity | None,
        values: dict[str, Any],
        errors: dict[str, str] | None = None,
    ) -> Response:
        context = self.context(session, entity=entity, values=values, errors=errors or {})
        code = status.HTTP_422_UNPROCESSABLE_CONTENT if errors else status.HTTP_200_OK
        return pages.render(request, "crm/form.html", context, user=user, status_code=code)

    def save(
        self, request: Request, session: SessionDep, user: User, form: PostedForm, entity_id: int | None
    ) -> Response:
        t = Translator(pages.language_of(request))
        entity = or_404(lambda: service.get_entity(session, self.entity_type, entity_id)) if entity_id else None
        attrs, errors = crm_forms.attrs_from_form(t, self.entity_type, form, creating=entity is None)
        if not errors:
            try:
                saved = self._write(session, user, entity_id, attrs)
            except InvalidFieldError as exc:
                errors = {exc.field: t("error.invalid_reason", reason=exc.reason)}
            else:
                return pages.redirect(request, f"{self.base}/{saved.id}")
        return self.form_page(request, session, user, entity=entity, values=dict(form), errors=errors)

    def _write(self, session: SessionDep, user: User, entity_id: int | None, attrs: dict[str, Any]) -> service.Entity:
        if entity_id is None:
            return edits.create(session, self.entity_type, attrs, user_id=user.id)
        return crm_edits.update(session, self.entity_type, entity_id, attrs, user_id=user.id)

    def confirm_delete(self, request: Request, session: SessionDep, user: User, entity_id: int) -> Response:
        entity = or_404(lambda: service.get_entity(session, self.entity_type, entity_id))
        context = {
            "title_key": f"{self.entity_type.value}.delete_title",
            "message": crm_forms.title_of(entity),
            "action": f"{self.base}/{entity_id}/delete",
            "back_url": f"{self.base}/{entity_id}",
            "error": None,
        }
        return pages.render_dialog(request, "confirm.html", context, user=user)

    def delete(self, request: Request, session: SessionDep, user: User, entity_id: int) -> Response:
        or_404(lambda: service.get_entity(session, self.entity_type, entity_id))
        edits.delete(session, self.entity_type, entity_id, user_id=user.id)
        return pages.redirect(request, self.base)


SCREENS = {segment: _Screens(segment, entity_type) for segment, entity_type in crm_forms.ENTITY_BY_SEGMENT.items()}


async def _screens(request: Request) -> _Screens:
    return SCREENS[segments.segment_of(request)]


ScreensDep = Annotated[_Screens, Depends(_screens)]


def list_page(
    request: Request,
    session: SessionDep,
    user: WebUser,
    screens: ScreensDep,
    q: Annotated[str, Query(max_length=255)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
    inactive: Annotated[bool, Query()] = False,
) -> Response:
    return screens.list_page(request, session, user, q, page, inactive=inactive)


def new_page(request: Request, session: SessionDep, user: WebUser, screens: ScreensDep) -> Response:
    return screens.form_page(request, session, user, entity=None, values={})


def create(request: Request, session: SessionDep, user: WebUser, screens: ScreensDep, form: PostedForm) -> Response:
    return screens.save(request, session, user, form, None)


def view_page(request: Request, session: SessionDep, user: WebUser, screens: ScreensDep, entity_id: int) -> Response:
    return screens.view_page(request, session, user, entity_id)


def edit_page(request: Request, session: SessionDep, user: WebUser, screens: ScreensDep, entity_id: int) -> Response:
    entity = or_404(lambda: service.get_entity(session, screens.entity_type, entity_id))
    return screens.form_page(request, session, user, entity=entity, values=_values_of(screens, entity))


def update(
    request: Request, session: SessionDep, user: WebUser, screens: ScreensDep, form: PostedForm, entity_id: int
) -> Response:
    return screens.save(request, session, user, form, entity_id)


def confirm_delete(
    request: Request, session: SessionDep, user: WebUser, screens: ScreensDep, entity_id: int
) -> Response:
    return screens.confirm_delete(request, session, user, entity_id)


def delete(request: Request, session: SessionDep, user: WebUser, screens: ScreensDep, entity_id: int) -> Response:
    return screens.delete(request, session, user, entity_id)


def _values_of(screens: _Screens, entity: service.Entity) -> dict[str, Any]:
    values = {}
    for field in crm_forms.form_fields(screens.entity_type):
        value = getattr(entity, field.attr)
        values[field.attr] = "" if value is None else str(value)
    return values


segments.route_families(
    router,
    [
        ("GET", "", list_page),
        ("GET", "/new", new_page),
        ("POST", "/new", create),
        ("GET", "/{entity_id}", view_page),
        ("GET", "/{entity_id}/edit", edit_page),
        ("POST", "/{entity_id}/edit", update),
        ("GET", "/{entity_id}/delete", confirm_delete),
        ("POST", "/{entity_id}/delete", delete),
    ],
)
