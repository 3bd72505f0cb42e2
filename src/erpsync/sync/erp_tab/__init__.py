"""The ERP tab (SPEC §5.1): per connection a CRM user may see, the entity's link and its live ERP fields; search,
compare, connect, create in the ERP, sync now and disconnect; the linked actor's documents and balance.

Every operation first checks access (the connection visible to the user, not deleted and active; the CRM entity
present: ``NotFoundError`` otherwise, so a hidden connection is not disclosed), reads what it needs in a short read
session, calls the connector with no transaction open, then writes in one short transaction. Values cross sides
through ``sync.mapping``; the first sync of a new link is ``sync.merge.connect`` with the user's winners; creates go
through ``sync.creates`` (idempotent); *Sync now* is the engine's ``sync_link``.

One concern per module: ``views`` (what the tab shows, for the API and the web alike), ``context`` (one connection seen
from one entity, and the access checks), ``values`` (how ERP values read), ``search``, ``linking`` (sections, compare,
connect, sync now, disconnect), ``create`` and ``documents`` (the Documents part, cached for a short while).
"""

from erpsync.sync.erp_tab.context import (
    EntityRef,
    RefusedRequestError,
    interactive,
    read_entity,
    search_fields,
    searchable_fields,
)
from erpsync.sync.erp_tab.create import create_form, create_in_erp
from erpsync.sync.erp_tab.documents import (
    DocumentLinesView,
    DocumentQuery,
    DocumentRow,
    DocumentsUnsupportedError,
    DocumentsView,
    check_access,
    document_lines,
    documents,
)
from erpsync.sync.erp_tab.linking import compare, connect_actor, disconnect, sections, sync_now
from erpsync.sync.erp_tab.search import (
    MAX_PAGE,
    SEARCH_LIMIT,
    HitsPage,
    RestrictionInput,
    check_restrictions,
    search_page,
)
from erpsync.sync.erp_tab.views import (
    Display,
    FieldComparison,
    FieldValue,
    Hit,
    Linked,
    LinkView,
    Prompt,
    Section,
    ValueProblem,
)

__all__ = [
    "MAX_PAGE",
    "SEARCH_LIMIT",
    "Display",
    "DocumentLinesView",
    "DocumentQuery",
    "DocumentRow",
    "DocumentsUnsupportedError",
    "DocumentsView",
    "EntityRef",
    "FieldComparison",
    "FieldValue",
    "Hit",
    "HitsPage",
    "LinkView",
    "Linked",
    "Prompt",
    "RefusedRequestError",
    "RestrictionInput",
    "Section",
    "ValueProblem",
    "check_access",
    "check_restrictions",
    "compare",
    "connect_actor",
    "create_form",
    "create_in_erp",
    "disconnect",
    "document_lines",
    "documents",
    "interactive",
    "read_entity",
    "search_fields",
    "search_page",
    "searchable_fields",
    "sections",
    "sync_now",
]
