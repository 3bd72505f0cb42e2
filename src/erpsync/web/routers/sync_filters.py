"""The Sync tab's *Filters* screen, for administrators: an actor type's sync filter (``sync.filters``), an ERP side and
a CRM side, edited with the advanced search's criteria rows (``criteria_rows.html``: ERP rows 0-2, CRM rows 3-5).
*Preview* shows how many linked records the filter would stop syncing and saves nothing; *Save* saves it, or lists
every reason it was refused and keeps what was entered."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from erpsync.crm.fields import CRM_FIELDS
from erpsync.errors import ErpsyncError
from erpsync.http.deps import ClientsDep, DatabaseDep, SessionDep
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import (
    configuration,
    configuration_loading,
    connection_visibility,
    filter_config,
    filters,
)
from erpsync.sync.mapping import ENTITY_FOR_ACTOR, FilterRestriction, SyncFilter
from erpsync.sync.work import Engine
from erpsync.web import criteria, pages
from erpsync.web.error_pages import PageNotFoundError, or_404
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.routers.sync_tab import SYNC_TAB
from erpsync.web.security import WebAdmin

router = page_router(SYNC_TAB)

_FILTERS = "/connections/{connection_id}/filters"
ERP_ROWS, CRM_ROWS = range(0, 3), range(3, 6)
ActorTypeQuery = Annotated[str | None, Query(max_length=32)]


def _screen(
    session: SessionDep, admin: User, connection_id: int, actor_type: str | None
) -> tuple[ErpConnection, m.ActorType]:
    connection = or_404(lambda: connection_visibility.get_connection(session, connection_id, user=admin))
    offered = configuration_loading.offered_fields(connection)
    chosen = next((t for t in m.ActorType if t in offered and actor_type in (None, t.value)), None)
    if connection.deleted_at is not None or chosen is None:
        raise PageNotFoundError
    return connection, chosen


def _crm_fields(actor_type: m.ActorType) -> list[m.FieldMeta]:
    """The CRM fields as criteria rows show fields: their key, label and the ERP type whose operators they take."""
    return [
        m.FieldMeta(key=key, label=key, type=filters.CRM_AS_ERP[field.type])
        for key, field in CRM_FIELDS[ENTITY_FOR_ACTOR[actor_type]].items()
    ]


def _as_params(sync_filter: SyncFilter) -> dict[str, str]:
    """A saved filter as the rows' form values."""
    params: dict[str, str] = {}
    for rows, restrictions in ((ERP_ROWS, sync_filter.erp), (CRM_ROWS, sync_filter.crm)):
        for index, r in zip(rows, restrictions, strict=False):
            params |= {f"field.{index}": r.field, f"operator.{index}": r.operator.value}
            if r.operator is m.Operator.BETWEEN and len(r.values) == 2:
                params |= {f"value.{index}": str(r.values[0]), f"value2.{index}": str(r.values[1])}
            else:
                params[f"value.{index}"] = ",".join("" if value is None else str(value) for value in r.values)
    return params


def _from_form(form: FormData, erp_fields: list[m.FieldMeta], crm_fields: list[m.FieldMeta]) -> SyncFilter:
    def side(rows: range, fields: list[m.FieldMeta]) -> tuple[FilterRestriction, ...]:
        chosen = criteria.restrictions(form, fields, rows)
        operators = {operator.value for operator in m.Operator}
        return tuple(
            FilterRestriction(field=r.field or "?", operator=m.Operator(r.operator), values=tuple(r.values))
            for r in chosen
            if r.operator in operators
        )

    return SyncFilter(erp=side(ERP_ROWS, erp_fields), crm=side(CRM_ROWS, crm_fields))


def _render(
    request: Request, admin: User, connection: ErpConnection, actor_type: m.ActorType, params: Any, **extra: Any
) -> Response:
    erp_fields = configuration_loading.offered_fields(connection).get(actor_type, [])
    context = {
        "screen": "filters",
        "actor_types": [t for t in m.ActorType if t in configuration_loading.offered_fields(connection)],
        "actor_type": actor_type,
        "erp_fields": erp_fields,
        "crm_fields": _crm_fields(actor_type),
        "erp_rows": ERP_ROWS,
        "crm_rows": CRM_ROWS,
        "operators": m.OPERATORS_BY_TYPE,
        "params": params,
        "preview": None,
        "problems": [],
        "connection": connection,
        "section": "settings",
        "back_url": SYNC_TAB,
    } | extra
    code = 422 if context["problems"] else 200
    return pages.render(request, "sync/filters.html", context, user=admin, status_code=code)


@router.get(_FILTERS)
def get_filters(
    request: Request, session: SessionDep, admin: WebAdmin, connection_id: int, actor_type: ActorTypeQuery = None
) -> Response:
    connection, chosen = _screen(session, admin, connection_id, actor_type)
    saved = configuration_loading.mapping_of(session, connection, chosen).sync_filter
    return _render(request, admin, connection, chosen, _as_params(saved))


@router.post(_FILTERS)
def post_filters(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    clients: ClientsDep,
    admin: WebAdmin,
    form: PostedForm,
    connection_id: int,
    actor_type: ActorTypeQuery = None,
) -> Response:
    connection, chosen = _screen(session, admin, connection_id, actor_type)
    erp_fields = configuration_loading.offered_fields(connection).get(chosen, [])
    candidate = _from_form(form, erp_fields, _crm_fields(chosen))
    problems = [
        configuration.describe(p) for p in filters.filter_problems(candidate, erp_fields, ENTITY_FOR_ACTOR[chosen])
    ]
    if problems:
        return _render(request, admin, connection, chosen, form, problems=problems)
    try:
        if form.get("action") == "preview":
            shown = filter_config.preview(Engine(database, clients), connection.id, chosen, candidate)
            return _render(request, admin, connection, chosen, form, preview=shown)
        filter_config.save_filter(session, connection, chosen, candidate, by=admin.id)
    except configuration.RefusedError as refused:
        return _render(
            request, admin, connection, chosen, form, problems=[configuration.describe(p) for p in refused.problems]
        )
    except ErpsyncError as error:  # the connector did not answer the preview's reads
        return _render(request, admin, connection, chosen, form, problems=[error.user_message])
    return pages.redirect(request, f"{SYNC_TAB}/connections/{connection.id}/filters?actor_type={chosen.value}&saved=1")
