"""Advanced-search criteria as the web forms carry them (the ERP tab's search and the import wizard): the searchable
fields of a connection, and the filled rows of the query string as restrictions. The rows' markup is the shared
template ``criteria_rows.html``.

Row ``i`` is ``field.i``, ``operator.i``, ``value.i`` and, for ``between``, ``value2.i``; ``oneof``/``notoneof``
take comma-separated values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session
from starlette.datastructures import FormData, QueryParams

from erpsync.protocol import models as m
from erpsync.storage.tables import User
from erpsync.sync import connection_visibility, erp_tab
from erpsync.web.erp_values import parse_value
from erpsync.web.error_pages import or_404

Params = QueryParams | FormData
"""The query string (the searches) or a posted form (the sync filter screen)."""
ADVANCED_ROWS = 3
MULTI_VALUE = frozenset({m.Operator.ONE_OF, m.Operator.NOT_ONE_OF})


def searchable(session: Session, user: User, connection_id: int, actor_type: m.ActorType) -> list[m.FieldMeta]:
    """The fields advanced search may restrict in a connection ``user`` can see (else the page is not found)."""
    connection = or_404(lambda: connection_visibility.get_connection(session, connection_id, user=user))
    return erp_tab.searchable_fields(connection, actor_type)


def restrictions(
    params: Params, fields: Sequence[m.FieldMeta], rows: Iterable[int] = range(ADVANCED_ROWS)
) -> list[erp_tab.RestrictionInput]:
    """The filled rows of ``rows``; a value of the wrong kind goes as typed, and the search names it."""
    metas = {meta.key: meta for meta in fields}
    chosen = []
    for index in (index for index in rows if params.get(f"field.{index}")):
        key = str(params.get(f"field.{index}") or "")
        chosen.append(_restriction(metas.get(key), str(params.get(f"operator.{index}") or ""), params, index))
    return chosen


def filled_rows(params: Params) -> list[int]:
    """The rows with a field chosen, in order."""
    return [index for index in range(ADVANCED_ROWS) if params.get(f"field.{index}")]


def _restriction(meta: m.FieldMeta | None, operator: str, params: Params, index: int) -> erp_tab.RestrictionInput:
    field_type = meta.type if meta else m.FieldType.TEXT
    texts = [str(params.get(f"value.{index}") or "")]
    if operator == m.Operator.BETWEEN:
        texts.append(str(params.get(f"value2.{index}") or ""))
    elif operator in MULTI_VALUE:
        texts = [part for part in texts[0].split(",") if part.strip()]
    return erp_tab.RestrictionInput(
        field=meta.key if meta else "", operator=operator, values=[_typed(field_type, text) for text in texts]
    )


def _typed(field_type: m.FieldType, text: str) -> m.Value:
    value, error = parse_value(field_type, text)
    return text if error else value
