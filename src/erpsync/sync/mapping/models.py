"""The mapping models of a connection (SPEC §4 Configure) and the compatibility of ERP with CRM fields.

``ConnectionConfig`` holds, per actor type, an ``ActorTypeMapping`` (master switch + one ``FieldMapping`` per ERP
field), the ``ListMapping`` per ERP list, the create ``FieldDefault``s, the conflict policy and the blank option.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from erpsync.crm.fields import CRM_FIELDS, CrmField, CrmFieldType, CrmList, EntityType
from erpsync.protocol.models import Access, ActorType, FieldMeta, FieldType, Operator, Value
from erpsync.sync.merge import Direction, FieldRule, Policy, Side

CrmItemId = int
"""The id of a CRM list item (the value a CRM list field holds)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldMapping(_Frozen):
    erp_field: str = Field(min_length=1, max_length=255)
    crm_field: str | None = None
    direction: Direction = Direction.NONE
    show_in_search: bool = False
    show_in_tab: bool = False
    policy: Policy | None = None  # None: the connection's policy
    rank: int = 0

    @property
    def synced(self) -> bool:
        return self.crm_field is not None and self.direction is not Direction.NONE


class ErpDeletePolicy(StrEnum):
    """What a deletion in the ERP does to the linked CRM record (docs/concepts.md *Deletes*)."""

    KEEP = "keep"  # keep the CRM record, the link is broken and waits for a person
    DEACTIVATE = "deactivate"  # keep the CRM record but clear its active flag; the link stays broken for a person
    DELETE = "delete"  # delete the CRM record with its links


class CrmDeletePolicy(StrEnum):
    """What a deletion in the CRM does to the linked ERP actor (docs/concepts.md *Deletes*)."""

    UNLINK = "unlink"  # the link goes, the ERP actor stays as it is
    DEACTIVATE_IN_ERP = "deactivate_in_erp"  # the ERP actor is saved with its active field off, then the link goes


ERP_ACTIVE_FIELD = "active"
"""The key of the checkbox an ERP actor is deactivated by, where the connector's actor fields offer it."""


class FilterRestriction(_Frozen):
    """One restriction of a sync filter: a field, a search operator and its values (like the advanced search's)."""

    field: str = Field(min_length=1, max_length=255)
    operator: Operator
    values: tuple[Value, ...] = Field(default=(), max_length=100)


class SyncFilter(_Frozen):
    """Which records of an actor type sync at all: every ERP restriction holds on the actor's values and every CRM
    restriction on the CRM record's (``sync.filters``). Empty on both sides (the default): every record syncs."""

    erp: tuple[FilterRestriction, ...] = Field(default=(), max_length=50)
    crm: tuple[FilterRestriction, ...] = Field(default=(), max_length=50)

    @property
    def empty(self) -> bool:
        return not self.erp and not self.crm


class AutoDirection(StrEnum):
    """Which way automatic creation works for one actor type (docs/concepts.md *Automatic creation*)."""

    OFF = "off"
    ERP_TO_CRM = "erp_to_crm"  # a new ERP actor becomes a CRM record
    CRM_TO_ERP = "crm_to_erp"  # a new CRM record becomes an ERP actor
    BOTH = "both"

    def creates(self, side: Side) -> bool:
        """Whether records are created on ``side`` (the side written)."""
        if side is Side.CRM:
            return self in (AutoDirection.ERP_TO_CRM, AutoDirection.BOTH)
        return self in (AutoDirection.CRM_TO_ERP, AutoDirection.BOTH)


class AutoCreate(_Frozen):
    """Automatic creation of one actor type: its direction and the match keys tried before anything is created
    (labels of ``sync.match_keys.AUTO_CRITERIA``). Off by default."""

    direction: AutoDirection = AutoDirection.OFF
    match: tuple[str, ...] = Field(default=(), max_length=10)


class ActorTypeMapping(_Frozen):
    actor_type: ActorType
    active: bool = False  # the master switch "sync ERP <actor> to CRM <entity>"
    fields: tuple[FieldMapping, ...] = ()
    erp_delete: ErpDeletePolicy = ErpDeletePolicy.KEEP
    crm_delete: CrmDeletePolicy = CrmDeletePolicy.UNLINK
    sync_filter: SyncFilter = SyncFilter()
    auto_create: AutoCreate = AutoCreate()


class ListMapping(_Frozen):
    """Pairs each item of one ERP list with one item of a CRM list; None is the explicit *no selection*."""

    list_name: str = Field(min_length=1, max_length=255)
    crm_list: CrmList
    items: dict[str, CrmItemId | None] = Field(default_factory=dict)

    def erp_key_for(self, crm_item: CrmItemId) -> str | None:
        return next((key for key, item in self.items.items() if item == crm_item), None)


class FieldDefault(_Frozen):
    """A value sent when an actor is created in the ERP: fixed, asked of the user, or both (pre-filled)."""

    value: Value = None
    ask_user: bool = False
    mandatory: bool = False


class ConnectionConfig(_Frozen):
    mappings: dict[ActorType, ActorTypeMapping] = Field(default_factory=dict)
    list_mappings: dict[str, ListMapping] = Field(default_factory=dict)
    defaults: dict[ActorType, dict[str, FieldDefault]] = Field(default_factory=dict)
    policy: Policy = Policy.NEWEST
    no_blank_overwrite: bool = False


@dataclass(frozen=True)
class Problem:
    """One reason a configuration or a record's values are refused. ``scope``: actor type or list name, if any."""

    field: str
    message: str
    scope: str = ""


# --- entities and compatibility -------------------------------------------------------------------------------------

ENTITY_FOR_ACTOR: dict[ActorType, EntityType] = {
    ActorType.CUSTOMER: EntityType.COMPANY,
    ActorType.SUPPLIER: EntityType.COMPANY,
    ActorType.PARTNER: EntityType.COMPANY,
    ActorType.PERSON: EntityType.PERSON,
    ActorType.PROJECT: EntityType.PROJECT,
}

_COMPATIBLE: dict[FieldType, CrmFieldType] = {
    FieldType.TEXT: CrmFieldType.TEXT,
    FieldType.INTEGER: CrmFieldType.TEXT,
    FieldType.DOUBLE: CrmFieldType.TEXT,
    FieldType.DATETIME: CrmFieldType.DATE,
    FieldType.LIST: CrmFieldType.LIST,
    FieldType.CHECKBOX: CrmFieldType.CHECKBOX,
}
"""The CRM field type each ERP field type pairs with (a checkbox with the CRM's active flag); password and label fields
pair with nothing."""

_ID_KEYS = frozenset({"id"})  # ERP keys the hub treats as the record's identity, never written


def is_compatible(meta: FieldMeta, crm: CrmField) -> bool:
    return _COMPATIBLE.get(meta.type) is crm.type


def compatible_crm_fields(meta: FieldMeta, entity: EntityType) -> list[CrmField]:
    """The CRM fields of ``entity`` that ``meta`` may pair with, in display order."""
    return [crm for crm in CRM_FIELDS[entity].values() if is_compatible(meta, crm)]


def is_read_only(meta: FieldMeta) -> bool:
    return meta.access is Access.READ_ONLY or meta.key.lower() in _ID_KEYS


def merge_rules(mapping: ActorTypeMapping, policy: Policy) -> dict[str, FieldRule]:
    """The merge's rule per ERP field of every row with a CRM field, the row's policy overriding the connection's."""
    return {row.erp_field: FieldRule(row.direction, row.policy or policy) for row in mapping.fields if row.crm_field}


def missing_in_erp(mapping: ActorTypeMapping, erp_fields: Iterable[FieldMeta]) -> list[str]:
    """Mapped ERP fields the connector no longer reports (shown as *missing in ERP*)."""
    reported = {meta.key for meta in erp_fields}
    return [row.erp_field for row in mapping.fields if row.erp_field not in reported]


def winners_by_erp_field(winners: Mapping[str, Side], mapping: ActorTypeMapping) -> dict[str, Side]:
    """The connect dialog's winners, chosen per CRM field (SPEC §9), keyed by the ERP fields paired with them."""
    return {
        row.erp_field: winners[row.crm_field] for row in mapping.fields if row.crm_field and row.crm_field in winners
    }
