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
    ``not where``.
    """

    key: str
    label: str
    type: FieldType = FieldType.TEXT
    list_name: str | None = None
    access: Access = Access.NORMAL
    max_length: int | None = None
    search_path: str | None = None
    search_many: bool = False

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


_NAME = ActorField("name", "Name", access=Access.MANDATORY, search_path="name")
_CODE = ActorField("code", "Code", access=Access.READ_ONLY, search_path="code")
_EMAIL = ActorField("email", "E-mail")
_PHONE = ActorField("phone", "Phone")
_MOBILE = ActorField("mobile", "Mobile")
_FAX = ActorField("fax", "Fax")
_WEBSITE = ActorField("website", "Website")
_LANGUAGE = ActorField("language", "Language", FieldType.LIST, LANGUAGES)  # a party's language cannot be searched

COMPANY_FIELDS = (
    _NAME,
    _CODE,
    ActorField("tax_identifier", "Tax identifier (VAT)"),
    ActorField("registration_number", "Registration number", access=Access.READ_ONLY),
    ActorField("street", "Street (invoice address)", search_path="addresses.street", search_many=True),
    ActorField("postal_code", "Postal code (invoice address)", search_path="addresses.postal_code", search_many=True),
    ActorField("city", "City (invoice address)", search_path="addresses.city", search_many=True),
    ActorField(
        "country",
        "Country (invoice address)",
        FieldType.LIST,
        COUNTRIES,
        search_path="addresses.country.code",
        search_many=True,
    ),
    ActorField("delivery_street", "Street (delivery address)"),
    ActorField("delivery_postal_code", "Postal code (delivery address)"),
    ActorField("delivery_city", "City (delivery address)"),
    ActorField("delivery_country", "Country (delivery address)", FieldType.LIST, COUNTRIES),
    _EMAIL,
    _PHONE,
    _MOBILE,
    _FAX,
    _WEBSITE,
    ActorField("category", "Category", FieldType.LIST, CATEGORIES, search_path="categories", search_many=True),
    _LANGUAGE,
)
PERSON_FIELDS = (_NAME, _CODE, _EMAIL, _PHONE, _MOBILE, _FAX, _WEBSITE, _LANGUAGE)
PROJECT_FIELDS = (
    _NAME,
    ActorField("number", "Number", access=Access.READ_ONLY, search_path="number"),
    ActorField("status", "Status", FieldType.LIST, PROJECT_STATUSES, access=Access.MANDATORY, search_path="status"),
    ActorField("comment", "Comment", search_path="comment"),
    ActorField("progress", "Progress (0 to 1)", FieldType.DOUBLE, search_path="progress"),
    ActorField("start_date", "Start date", FieldType.DATETIME),
    ActorField("end_date", "End date", FieldType.DATETIME),
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
