"""The sample ERP's catalogue: its lists, and the fields of each kind of record it keeps (organisations, persons,
projects), from which both its SQLite schema and the connector's field metadata are derived."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from erpsync.errors import ValidationError
from erpsync.protocol.models import Access, ActorType, FieldMeta, FieldType, ListItem, Value

LISTS: dict[str, tuple[ListItem, ...]] = {
    name: tuple(ListItem(key=key, label=label, code=key if name == "country" else None) for key, label in items)
    for name, items in {
        "country": (
            ("DK", "Denmark"),
            ("SE", "Sweden"),
            ("NO", "Norway"),
            ("FI", "Finland"),
            ("IS", "Iceland"),
            ("DE", "Germany"),
            ("NL", "Netherlands"),
            ("GB", "United Kingdom"),
            ("US", "United States"),
        ),
        "currency": (
            ("DKK", "Danish krone"),
            ("SEK", "Swedish krona"),
            ("NOK", "Norwegian krone"),
            ("EUR", "Euro"),
            ("ISK", "Icelandic króna"),
            ("GBP", "Pound sterling"),
            ("USD", "US dollar"),
        ),
        "payment_terms": (
            ("PREPAID", "Prepaid"),
            ("NET8", "8 days net"),
            ("NET14", "14 days net"),
            ("NET30", "30 days net"),
            ("NET60", "60 days net"),
            ("EOM30", "End of month + 30 days"),
        ),
        "customer_group": (
            ("RETAIL", "Retail"),
            ("WHOLESALE", "Wholesale"),
            ("PUBLIC", "Public sector"),
            ("RESELLER", "Reseller"),
            ("INTERNAL", "Internal"),
        ),
        "project_status": (
            ("PLANNED", "Planned"),
            ("ACTIVE", "In progress"),
            ("ONHOLD", "On hold"),
            ("DONE", "Completed"),
            ("CANCELLED", "Cancelled"),
        ),
    }.items()
}
"""The ERP's fixed lists: stable keys (what actor values hold) and labels."""


@dataclass(frozen=True)
class ActorField:
    """One field of a kind of record: its metadata, and the SQLite column of the same name that holds it."""

    key: str
    label: str
    type: FieldType = FieldType.TEXT
    max_length: int | None = None
    list_name: str | None = None
    access: Access = Access.NORMAL
    default: Value = None

    @property
    def writable(self) -> bool:
        return self.access is not Access.READ_ONLY

    def meta(self, rank: int) -> FieldMeta:
        return FieldMeta(
            key=self.key,
            label=self.label,
            type=self.type,
            list_name=self.list_name,
            default=self.default,
            max_length=self.max_length,
            access=self.access,
            rank=rank,
        )


@dataclass(frozen=True)
class RecordKind:
    """A table of the ERP and the actor types it holds."""

    table: str
    actor_types: tuple[ActorType, ...]
    fields: tuple[ActorField, ...]
    number_prefix: str
    text_search: tuple[str, ...]  # the columns the simple search matches
    order_by: str
    parent_types: tuple[ActorType, ...] = ()
    parent_required: bool = False

    def field(self, key: str) -> ActorField:
        return self.by_key[key]

    @cached_property
    def by_key(self) -> dict[str, ActorField]:
        return {field.key: field for field in self.fields}

    def select_fields(self, keys: list[str]) -> list[ActorField]:
        """The fields named by ``keys``, or ``ValidationError`` naming every unknown one."""
        by_key = self.by_key
        unknown = [key for key in keys if key not in by_key]
        if unknown:
            raise ValidationError(f"unknown field(s): {', '.join(sorted(set(unknown)))}")
        return [by_key[key] for key in dict.fromkeys(keys)]


_NUMBER = ActorField("number", "Number", max_length=20, access=Access.READ_ONLY)
_CREATED = ActorField("created", "Created", FieldType.DATETIME, access=Access.READ_ONLY)
_ACTIVE = ActorField("active", "Active", FieldType.CHECKBOX, default=True)


def _text(key: str, label: str, max_length: int, access: Access = Access.NORMAL) -> ActorField:
    return ActorField(key, label, FieldType.TEXT, max_length=max_length, access=access)


def _list(key: str, label: str, list_name: str) -> ActorField:
    return ActorField(key, label, FieldType.LIST, list_name=list_name)


def _address(prefix: str, label: str) -> tuple[ActorField, ...]:
    lines = tuple(_text(f"{prefix}_address{i}", f"{label} address, line {i}", 80) for i in (1, 2, 3))
    return (*lines, _text(f"{prefix}_zip", f"{label} zip code", 16), _text(f"{prefix}_city", f"{label} city", 60))


ORGANISATION = RecordKind(
    table="organisations",
    actor_types=(ActorType.CUSTOMER, ActorType.SUPPLIER, ActorType.PARTNER),
    fields=(
        _NUMBER,
        _text("name", "Name", 100, Access.MANDATORY),
        _text("org_number", "Organisation number", 20),
        _text("vat_number", "VAT number", 20),
        *_address("postal", "Postal"),
        *_address("street", "Street"),
        _list("country", "Country", "country"),
        _text("phone", "Phone", 32),
        _text("email", "Email", 120),
        _text("url", "Web site", 200),
        _list("currency", "Currency", "currency"),
        _list("payment_terms", "Payment terms", "payment_terms"),
        _list("customer_group", "Customer group", "customer_group"),
        ActorField("employees", "Employees", FieldType.INTEGER),
        ActorField("credit_limit", "Credit limit", FieldType.DOUBLE),
        ActorField("blocked", "Blocked", FieldType.CHECKBOX, default=False),
        _ACTIVE,
        _CREATED,
    ),
    number_prefix="",
    text_search=("name", "number", "email"),
    order_by="name",
)

PERSON = RecordKind(
    table="persons",
    actor_types=(ActorType.PERSON,),
    fields=(
        _NUMBER,
        _text("first_name", "First name", 50),
        _text("last_name", "Last name", 50, Access.MANDATORY),
        _text("title", "Title", 80),
        _text("email", "Email", 120),
        _text("phone_direct", "Direct phone", 32),
        _text("phone_mobile", "Mobile phone", 32),
        _ACTIVE,
        _CREATED,
    ),
    number_prefix="P",
    text_search=("first_name", "last_name", "number", "email"),
    order_by="last_name, first_name",
    parent_types=(ActorType.CUSTOMER, ActorType.SUPPLIER, ActorType.PARTNER),
    parent_required=True,
)

PROJECT = RecordKind(
    table="projects",
    actor_types=(ActorType.PROJECT,),
    fields=(
        _NUMBER,
        _text("name", "Name", 100, Access.MANDATORY),
        _text("description", "Description", 2000),
        ActorField("end_date", "End date", FieldType.DATETIME),
        _list("status", "Status", "project_status"),
        _CREATED,
    ),
    number_prefix="PR",
    text_search=("name", "number"),
    order_by="name",
    parent_types=(ActorType.CUSTOMER, ActorType.PARTNER),
)

KINDS = (ORGANISATION, PERSON, PROJECT)
KIND_OF: dict[ActorType, RecordKind] = {actor_type: kind for kind in KINDS for actor_type in kind.actor_types}
