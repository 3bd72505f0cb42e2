"""The Merge dialog of a company or a person: find the other record, pick the record to keep and, where the two differ,
each value to keep; then the merge (``erpsync.sync.crm_merges``: one unit of work with the links rule) and its
result, which says which links moved and which were left behind as problems.

The form names the two records as *this* (the page's) and *other*; the handler turns the choices into the survivor's
terms, so keeping the other record works with the same form.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, status
from fastapi.responses import Response
from starlette.datastructures import FormData

from erpsync.crm import merge as crm_merge
from erpsync.crm import service
from erpsync.crm.errors import InvalidFieldError
from erpsync.errors import NotFoundError, ValidationError
from erpsync.http.deps import SessionDep
from erpsync.storage.tables import User
from erpsync.sync import crm_merges
from erpsync.web import crm_forms, pages, segments
from erpsync.web.error_pages import or_404
from erpsync.web.i18n import Translator
from erpsync.web.routers import PostedForm, page_router
from erpsync.web.security import WebUser

CANDIDATES = 20
SEGMENTS = ("companies", "persons")

router = page_router()


def _context(session: SessionDep, segment: str, entity: service.Entity, **extra: Any) -> dict[str, Any]:
    entity_type = crm_forms.ENTITY_BY_SEGMENT[segment]
    base = f"/{segment}"
    return {
        "entity": entity,
        "entity_type": entity_type.value,
        "action": f"{base}/{entity.id}/merge",
        "back_url": f"{base}/{entity.id}",
        "title_of": crm_forms.title_of,
        "display": crm_forms.display_value,
        "options": crm_forms.choices(session, entity_type),
        "error": None,
        "other": None,
        "q": "",
        "candidates": [],
        **extra,
    }


def merge_dialog(
    request: Request,
    session: SessionDep,
    user: WebUser,
    entity_id: int,
    q: Annotated[str, Query(max_length=255)] = "",
    other_id: Annotated[int | None, Query()] = None,
) -> Response:
    segment = segments.segment_of(request)
    entity_type = crm_forms.ENTITY_BY_SEGMENT[segment]
    entity = or_404(lambda: service.get_entity(session, entity_type, entity_id))
    if other_id is not None and other_id != entity_id:
        other = or_404(lambda: service.get_entity(session, entity_type, other_id))
        found = crm_merge.differences(session, entity_type, entity_id, other_id)
        context = _context(session, segment, entity, other=other, differences=found)
    else:
        # an inactive duplicate is a usual thing to merge away, so the candidates include inactive records
        found_page = service.list_entities(session, entity_type, q=q, limit=CANDIDATES + 1, include_inactive=True)
        matches = found_page[0] if q else []
        candidates = [match for match in matches if match.id != entity_id][:CANDIDATES]
        context = _context(session, segment, entity, q=q, candidates=candidates)
    return pages.render_dialog(request, "crm/merge.html", context, user=user)


def _choices(form: FormData, found: list[crm_merge.FieldDifference], keep_this: bool) -> dict[str, crm_merge.Keep]:
    """Per differing field, the record whose value was picked (``this`` or ``other``), in the survivor's terms."""
    choices = {}
    for difference in found:
        default = "this" if difference.default is crm_merge.Keep.SURVIVOR else "other"
        from_this = str(form.get(f"value.{difference.attr}", default)) == "this"
        choices[difference.attr] = crm_merge.Keep.SURVIVOR if from_this == keep_this else crm_merge.Keep.OTHER
    return choices


def merge(request: Request, session: SessionDep, user: WebUser, entity_id: int, form: PostedForm) -> Response:
    segment = segments.segment_of(request)
    entity_type = crm_forms.ENTITY_BY_SEGMENT[segment]
    entity = or_404(lambda: service.get_entity(session, entity_type, entity_id))
    t = Translator(pages.language_of(request))
    try:
        other_id = int(str(form.get("other_id", "")))
    except ValueError:
        other_id = entity_id
    keep_this = form.get("survivor", "this") != "other"
    survivor_id, merged_id = (entity_id, other_id) if keep_this else (other_id, entity_id)
    try:
        found = crm_merge.differences(session, entity_type, entity_id, other_id)
        report = crm_merges.merge_records(
            session, entity_type, survivor_id, merged_id, _choices(form, found, keep_this), user=user
        )
    except crm_merges.MergeForbiddenError as error:
        context = _context(session, segment, entity, error=t(f"merge.forbidden.{error.reason}"))
        code = status.HTTP_403_FORBIDDEN
        return pages.render_dialog(request, "crm/merge.html", context, user=user, status_code=code)
    except (InvalidFieldError, ValidationError, NotFoundError) as error:
        context = _context(session, segment, entity, error=t("merge.refused", reason=str(error)))
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return pages.render_dialog(request, "crm/merge.html", context, user=user, status_code=code)
    return _result(request, session, user, segment, report)


def _result(
    request: Request, session: SessionDep, user: User, segment: str, report: crm_merges.MergeReport
) -> Response:
    survivor = service.get_entity(session, crm_forms.ENTITY_BY_SEGMENT[segment], report.survivor_id)
    context = {
        "report": report,
        "survivor": survivor,
        "title_of": crm_forms.title_of,
        "survivor_url": f"/{segment}/{survivor.id}",
        "back_url": f"/{segment}/{survivor.id}",
    }
    return pages.render_dialog(request, "crm/merge_result.html", context, user=user)


for _segment in SEGMENTS:
    router.add_api_route(f"/{_segment}/{{entity_id}}/merge", merge_dialog, methods=["GET"])
    router.add_api_route(f"/{_segment}/{{entity_id}}/merge", merge, methods=["POST"])
