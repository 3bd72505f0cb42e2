"""Every table of the hub as SQLAlchemy 2 typed ORM models; Alembic migrations follow this package.

One module per area: ``base`` (``Base``, ``UtcDateTime``, ``utcnow``), ``crm`` (entities, list items, the change
counter, tombstones), ``access`` (users, groups, tokens, sessions, sign-in throttling, the audit log), ``connections``
(connectors, ERP connections and their sync configuration), ``operations`` (alert settings, recipients, causes and
deliveries), ``conflicts`` (the conflict inbox), ``sync_state`` (links, watermarks, leases, runs, events, creates,
engine settings, jobs), ``history`` (the field history) and ``auto`` (automatic creation's review list). Importing
the package registers every table on ``Base.metadata``.
"""

from erpsync.storage.tables.access import (
    ApiToken,
    AuditEntry,
    Group,
    GroupMember,
    LoginThrottle,
    User,
    WebSession,
)
from erpsync.storage.tables.auto import AutoReview
from erpsync.storage.tables.base import (
    Base,
    UtcDateTime,
    new_stamp,
    utcnow,
)
from erpsync.storage.tables.conflicts import SyncConflict
from erpsync.storage.tables.connections import (
    ConnectionActorFields,
    ConnectionGroup,
    ConnectionUser,
    ErpConnection,
    SyncActorMapping,
    SyncConnectionPolicy,
    SyncConnector,
    SyncListMapping,
)
from erpsync.storage.tables.crm import (
    ChangeCounter,
    Company,
    CrmDeletion,
    CrmEntity,
    ListItem,
    Person,
    Project,
)
from erpsync.storage.tables.history import FieldChange
from erpsync.storage.tables.operations import (
    AlertCause,
    AlertDelivery,
    AlertRecipient,
    AlertSettings,
)
from erpsync.storage.tables.sync_state import (
    EngineState,
    ErpLink,
    ImportItem,
    SyncCreate,
    SyncEvent,
    SyncJob,
    SyncLock,
    SyncRun,
    SyncWatermark,
)

__all__ = [
    "AlertCause",
    "AlertDelivery",
    "AlertRecipient",
    "AlertSettings",
    "ApiToken",
    "AuditEntry",
    "AutoReview",
    "Base",
    "ChangeCounter",
    "Company",
    "ConnectionActorFields",
    "ConnectionGroup",
    "ConnectionUser",
    "CrmDeletion",
    "CrmEntity",
    "EngineState",
    "ErpConnection",
    "ErpLink",
    "FieldChange",
    "Group",
    "GroupMember",
    "ImportItem",
    "ListItem",
    "LoginThrottle",
    "Person",
    "Project",
    "SyncActorMapping",
    "SyncConflict",
    "SyncConnectionPolicy",
    "SyncConnector",
    "SyncCreate",
    "SyncEvent",
    "SyncJob",
    "SyncListMapping",
    "SyncLock",
    "SyncRun",
    "SyncWatermark",
    "User",
    "UtcDateTime",
    "WebSession",
    "new_stamp",
    "utcnow",
]
