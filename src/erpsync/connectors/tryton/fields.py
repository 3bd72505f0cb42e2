"""The actor fields the Tryton connector offers, where each lives in Tryton, and the lists behind list fields.

How actors map onto Tryton (see docs/tryton.md):
- ``customer``/``supplier``: a party the connection's config makes one (``roles.py``: every party, the parties in a
  party category of Tryton's, with sales / purchases, with a customer / supplier payment term, or none);
  ``partner``: a party that is both. The sets overlap: a partner is also found as a customer and as a supplier, so a
  link survives a customer becoming a supplier too.
- ``person``: a party with a contact relation, of the type the config names, to its parent party.
- ``project``: a ``project.work`` of type project in the connection's company; its parent is its party.

The labels of every field live here, in one place (``parts.py`` says which Tryton record holds each party field).
"""

from __future__ import annotations

from dataclasses import dataclass

from erpsync.connectors.tryton.roles import EVERY_PARTY, NOBODY, ROLE_RULES
from erpsync.protocol.models import Access, ActorType, FieldMeta, FieldType

IDEMPOTENCY_PREFIX = "erpsync-create:"  # code of the party identifier that remembers which request created a party

COUNTRIES = "countries"
CATEGORIES = "categories"
LANGUAGES = "languages"
PROJECT_STATUSES = "project_statuses"


@dataclass(frozen=True)
class ActorField:
    """One actor field; ``search_path`` is the Tryton domain path, None when it cannot be searched.

    ``search_many``: the path's first step is an x2many (addresses, categories), which negations must search with
    ``not where``. ``source``: Tryton's model and field whose string and help label the field in other languages
    than English (``languages.py``); ``role``: the address role flag that qualifies that label.
    """

    key: str
    label: str
    type: FieldType = FieldType.TEXT
    list_name: str | None = None
    access: Access = Access.NORMAL
    max_length: int | None = None
    search_path: str | None = None
    search_many: bool = False
    source: tuple[str, str] | None = None
    role: str | None = None

    def meta(self, rank: int) -> FieldMeta:
        return FieldMeta(
            key=self.key,
            label=self.label,
            type=self.type,
            list_name=self.list_name,
            access=self.access,
            max_length=self.max_length,
            rank=rank,
        )


PARTY = "party.party"
ADDRESS = "party.address"
WORK = "project.work"


def _address(key: str, label: str, role: str, *, searchable: bool = False) -> ActorField:
    """A field of the invoice or delivery address (``role``): Tryton's address field of the same name; a country is
    a list field searched by its code."""
    name = key.removeprefix("delivery_")
    country = name == "country"
    path = (f"addresses.{name}" + (".code" if country else "")) if searchable else None
    kind, list_name = (FieldType.LIST, COUNTRIES) if country else (FieldType.TEXT, None)
    return ActorField(
        key, label, kind, list_name, search_path=path, search_many=searchable, source=(ADDRESS, name), role=role
    )


def _contact(key: str, label: str) -> ActorField:
    return ActorField(key, label, source=(PARTY, key))


_NAME = ActorField("name", "Name", access=Access.MANDATORY, search_path="name", source=(PARTY, "name"))
_CODE = ActorField("code", "Code", access=Access.READ_ONLY, search_path="code", source=(PARTY, "code"))
_EMAIL = _contact("email", "E-mail")
_PHONE = _contact("phone", "Phone")
_MOBILE = _contact("mobile", "Mobile")
_FAX = _contact("fax", "Fax")
_WEBSITE = _contact("website", "Website")
_LANGUAGE = ActorField(  # a party's language cannot be searched
    "language", "Language", FieldType.LIST, LANGUAGES, source=(PARTY, "lang")
)

COMPANY_FIELDS = (
    _NAME,
    _CODE,
    ActorField("tax_identifier", "Tax identifier (VAT)", source=(PARTY, "tax_identifier")),
    ActorField("registration_number", "Registration number", access=Access.READ_ONLY),
    _address("street", "Street (invoice address)", "invoice", searchable=True),
    _address("postal_code", "Postal code (invoice address)", "invoice", searchable=True),
    _address("city", "City (invoice address)", "invoice", searchable=True),
    _address("country", "Country (invoice address)", "invoice", searchable=True),
    _address("delivery_street", "Street (delivery address)", "delivery"),
    _address("delivery_postal_code", "Postal code (delivery address)", "delivery"),
    _address("delivery_city", "City (delivery address)", "delivery"),
    _address("delivery_country", "Country (delivery address)", "delivery"),
    _EMAIL,
    _PHONE,
    _MOBILE,
    _FAX,
    _WEBSITE,
    ActorField(
        "category",
        "Category",
        FieldType.LIST,
        CATEGORIES,
        search_path="categories",
        search_many=True,
        source=(PARTY, "categories"),
    ),
    _LANGUAGE,
)
PERSON_FIELDS = (_NAME, _CODE, _EMAIL, _PHONE, _MOBILE, _FAX, _WEBSITE, _LANGUAGE)
PROJECT_FIELDS = (
    ActorField("name", "Name", access=Access.MANDATORY, search_path="name", source=(WORK, "name")),
    ActorField("number", "Number", access=Access.READ_ONLY, search_path="number", source=(WORK, "number")),
    ActorField(
        "status",
        "Status",
        FieldType.LIST,
        PROJECT_STATUSES,
        access=Access.MANDATORY,
        search_path="status",
        source=(WORK, "status"),
    ),
    ActorField("comment", "Comment", search_path="comment", source=(WORK, "comment")),
    ActorField("progress", "Progress (0 to 1)", FieldType.DOUBLE, search_path="progress", source=(WORK, "progress")),
    ActorField("start_date", "Start date", FieldType.DATETIME, source=(WORK, "timesheet_start_date")),
    ActorField("end_date", "End date", FieldType.DATETIME, source=(WORK, "timesheet_end_date")),
)

FIELDS: dict[ActorType, tuple[ActorField, ...]] = {
    ActorType.CUSTOMER: COMPANY_FIELDS,
    ActorType.SUPPLIER: COMPANY_FIELDS,
    ActorType.PARTNER: COMPANY_FIELDS,
    ActorType.PERSON: PERSON_FIELDS,
    ActorType.PROJECT: PROJECT_FIELDS,
}
COMPANY_TYPES = (ActorType.CUSTOMER, ActorType.SUPPLIER, ActorType.PARTNER)
LIST_KEYED_BY_ID = frozenset({CATEGORIES, PROJECT_STATUSES})  # the others are keyed by ISO code


def actor_field(actor_type: ActorType, key: str) -> ActorField | None:
    return next((field for field in FIELDS[actor_type] if field.key == key), None)


def config_fields() -> list[FieldMeta]:
    """The connection's config fields; the company is Tryton's company id (1 on a database with one company)."""
    fields = (
        ActorField("url", "Tryton server URL", access=Access.MANDATORY, max_length=500),
        ActorField("database", "Database", access=Access.MANDATORY, max_length=100),
        ActorField("user", "User", access=Access.MANDATORY, max_length=100),
        ActorField("password", "Password", FieldType.PASSWORD, access=Access.MANDATORY, max_length=200),
        ActorField("company", "Company id", FieldType.INTEGER),
        ActorField("customers", "Customers", FieldType.LIST, ROLE_RULES),
        ActorField("customer_category", "Customer category", max_length=100),
        ActorField("suppliers", "Suppliers", FieldType.LIST, ROLE_RULES),
        ActorField("supplier_category", "Supplier category", max_length=100),
        ActorField("person_relation", "Contact relation type", max_length=100),
    )
    about: dict[str, dict[str, object]] = {
        "company": {"default": 1, "description": "Tryton's id of the company; empty: the user's current company"},
        "customers": {"default": EVERY_PARTY, "description": "Which parties are customers"},
        "customer_category": {"description": "Tryton's party category of customers, when chosen above"},
        "suppliers": {"default": NOBODY, "description": "Which parties are suppliers"},
        "supplier_category": {"description": "Tryton's party category of suppliers, when chosen above"},
        "person_relation": {
            "description": "The name of Tryton's relation type from a contact person to its company; empty: no persons"
        },
    }
    return [field.meta(rank).model_copy(update=about.get(field.key, {})) for rank, field in enumerate(fields)]
