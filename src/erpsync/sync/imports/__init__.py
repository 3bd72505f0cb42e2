"""Import from the ERP (SPEC §5.3): preview what each ERP actor would become, then import as a resumable background job.

Per actor the verdict is *link* to an existing CRM entity (its ERP key is linked already; else one unlinked entity
matches by org number, then VAT number, then email, then exact normalised name; persons within their parent's company),
*create* a CRM entity, or *skip* with the reason (ambiguous match, parent company not linked, no name). Persons are
imported under the company linked to their parent actor, so import companies first.

The run pages through the actors: every actor of the type (``changes`` from the beginning, by cursor), or the keys a
search found (``get_actors`` in batches); the next page is fetched while one is stored. Each page is decided outside
any write transaction, then stored in ONE transaction: bulk writes (ids and change numbers reserved up front, then one
``COPY`` on PostgreSQL or one ``executemany`` on SQLite per table) of the new CRM entities (tagged with the
connection's origin, so its sync does not echo them), their links, the per-actor items and the job's cursor. So
SQLite's write lock is held for one page's writes only, and a page that finds the database busy is tried again with
backoff (``busy.retrying``) instead of failing the job. A re-run after a crash resumes at the cursor, and an actor
whose key is linked is linked to, never created again: no duplicates. The actors are not counted by a pass of their
own: a job of every actor of its type takes the ``total`` the connector counts on its first page (else learns it with
its last page), and its last page starts the connection's ERP feed where the read ended (``engine.begin_erp_feed``),
so the first cycle after the import reads only what changed since.

Matching looks a page's keys up in an index of the CRM entities held in the process as hashes (``sync.matching``,
some 80 bytes a company), and confirms each entity found by its values as they stand: each record's keys are computed
once (by the page reader's process, for a read of every actor: ``sync.crossings``), the entities the import creates
are put in the index as they are written, and everything else is read by change sequence each page (a look at the
CRM's change counter first: nothing is read when only the import wrote since). The per-page lookups in the hub
database (links, items, changes) stay on their indexes at any size: on PostgreSQL the import keeps the tables'
statistics current as it grows them (``LoadStatistics``, asked only when a table may be due).

The criteria (``sync.match_keys``) and the CRM index (``sync.matching``) are shared with automatic creation. The
package keeps one concern per module: ``classification`` (the verdicts), ``scope`` (the connection's mapping and
searches), ``paging`` (the run), ``writing`` (one page's transaction) and ``service`` (the use cases).
"""

from erpsync.sync.imports.classification import ACTION_OF_VERB, Classifier, ItemAction, Verb, Verdict
from erpsync.sync.imports.paging import PAGE_SIZE, ImportPager, import_pager
from erpsync.sync.imports.scope import import_pass
from erpsync.sync.imports.service import (
    PREVIEW_LIMIT,
    ImportResult,
    PreviewRow,
    import_result,
    preview,
    run_import,
    start_import,
    undo_import,
)
from erpsync.sync.match_keys import CRITERIA, Criterion
from erpsync.sync.matching import CrmIndex

__all__ = [
    "ACTION_OF_VERB",
    "CRITERIA",
    "PAGE_SIZE",
    "PREVIEW_LIMIT",
    "Classifier",
    "Criterion",
    "CrmIndex",
    "ImportPager",
    "ImportResult",
    "ItemAction",
    "PreviewRow",
    "Verb",
    "Verdict",
    "import_pager",
    "import_pass",
    "import_result",
    "preview",
    "run_import",
    "start_import",
    "undo_import",
]
