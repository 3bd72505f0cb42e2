"""Typed models of connector protocol v1 (docs/protocol.md), shared by the hub's client and the connector SDK.

Every operation is ``POST {url}/v1/{operation}``; ``OPERATIONS`` maps each name to its request and response model.
Requests reject unknown members so a typo fails loudly; responses tolerate extra members so a newer connector
can add some without breaking an older hub.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

from erpsync.errors import ErrorCode
from erpsync.protocol.language import MAX_LANGUAGES, LanguageTag

PROTOCOL_VERSION = "1"
MAX_TEXT = 100_000  # longest string value accepted anywhere in the protocol
MAX_KEYS = 1000  # most keys or actors in one request
MAX_LIMIT = 1000  # largest page or search limit

Value = str | int | float | bool | None
"""A field value: JSON scalars; dates and datetimes as ISO 8601 strings; list values are list-item keys."""

ConnectionId = Annotated[str, Field(min_length=1, max_length=64)]
Key = Annotated[str, Field(min_length=1, max_length=255)]
Config = dict[Key, Value]


class ActorType(StrEnum):
    """The fixed set of ERP actor types; connectors cannot invent others."""

    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    PARTNER = "partner"
    PERSON = "person"
    PROJECT = "project"


class FieldType(StrEnum):
    TEXT = "text"
    PASSWORD = "password"
    INTEGER = "integer"
    DOUBLE = "double"
    CHECKBOX = "checkbox"
    LIST = "list"
    DATETIME = "datetime"
    LABEL = "label"


class Access(StrEnum):
    NORMAL = "normal"
    MANDATORY = "mandatory"
    READ_ONLY = "read_only"


class State(StrEnum):
    OK = "ok"
    OK_WITH_INFO = "ok_with_info"
    WARNING = "warning"
    ERROR = "error"


class Operator(StrEnum):
    """Search operators; ``OPERATORS_BY_TYPE`` says which apply to which field type."""

    EQ = "="
    NE = "!="
    GT = ">"
    LT = "<"
    GE = ">="
    LE = "<="
    BEGINS = "begins"
    CONTAINS = "contains"
    ENDS = "ends"
    NOT_BEGINS = "notbegins"
    NOT_CONTAINS = "notcontains"
    NOT_ENDS = "notends"
    IS_NOT = "isnot"
    BETWEEN = "between"
    ONE_OF = "oneof"
    NOT_ONE_OF = "notoneof"
    BEFORE = "before"
    AFTER = "after"
    BEFORE_OR_EQUAL = "beforeOrEqual"
    AFTER_OR_EQUAL = "afterOrEqual"


_TEXT_OPERATORS = frozenset(
    {
        Operator.EQ,
        Operator.BEGINS,
        Operator.CONTAINS,
        Operator.ENDS,
        Operator.NOT_BEGINS,
        Operator.NOT_CONTAINS,
        Operator.NOT_ENDS,
        Operator.IS_NOT,
        Operator.BETWEEN,
    }
)
_NUMBER_OPERATORS = frozenset(
    {Operator.EQ, Operator.NE, Operator.GT, Operator.LT, Operator.GE, Operator.LE, Operator.BETWEEN}
)
OPERATORS_BY_TYPE: dict[FieldType, frozenset[Operator]] = {
    FieldType.TEXT: _TEXT_OPERATORS,
    FieldType.PASSWORD: frozenset(),
    FieldType.LABEL: frozenset(),
    FieldType.INTEGER: _NUMBER_OPERATORS,
    FieldType.DOUBLE: _NUMBER_OPERATORS,
    FieldType.CHECKBOX: frozenset({Operator.EQ}),
    FieldType.LIST: frozenset({Operator.ONE_OF, Operator.NOT_ONE_OF}),
    FieldType.DATETIME: frozenset(
        {
            Operator.EQ,
            Operator.BEFORE,
            Operator.AFTER,
            Operator.BEFORE_OR_EQUAL,
            Operator.AFTER_OR_EQUAL,
            Operator.BETWEEN,
        }
    ),
}
"""Operators allowed per field type. ``between`` takes two values, ``oneof``/``notoneof`` one or more, others one."""


class WireModel(BaseModel):
    """Base of requests: unknown members are an error."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class AnswerModel(BaseModel):
    """Base of response payload parts: unknown members are ignored."""

    model_config = ConfigDict(extra="ignore")


# --- data ---------------------------------------------------------------------------------------------------------


class FieldMeta(AnswerModel):
    """Metadata of a config field or an actor field."""

    key: Key
    label: str = Field(max_length=255)
    description: str = Field(default="", max_length=2000)
    type: FieldType
    list_name: str | None = Field(default=None, max_length=255)
    default: Value = None
    max_length: int | None = Field(default=None, ge=1)
    access: Access = Access.NORMAL
    rank: int = 0


class Actor(AnswerModel):
    """An ERP record. ``erp_key`` is null only in a ``create_actor`` request. In a ``save_actors`` request
    ``parent_type`` and ``parent_key`` absent keep the parent, both null clear it; in answers absent means null."""

    actor_type: ActorType
    erp_key: Key | None = None
    last_modified: str | None = Field(default=None, max_length=64)
    parent_type: ActorType | None = None
    parent_key: Key | None = None
    fields: dict[Key, Value] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _parent_only_when_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The parent members go on the wire only when set: absent keeps a parent in ``save_actors``, null clears it."""
        document: dict[str, Any] = handler(self)
        for name in _PARENT_MEMBERS:
            if name not in self.model_fields_set:
                document.pop(name, None)
        return document

    @property
    def parent_given(self) -> bool:
        """Whether the request said anything about the parent (``save_actors``: absent means keep it)."""
        return bool(_PARENT_MEMBERS & self.model_fields_set)


_PARENT_MEMBERS = frozenset({"parent_type", "parent_key"})


class ListItem(AnswerModel):
    key: Key
    label: str = Field(max_length=1000)
    code: str | None = Field(
        default=None,
        max_length=16,
        description=(
            "Optional: the standard code the item stands for, where there is one (for a country its ISO 3166-1 "
            "alpha-2 code, e.g. DK). The hub pairs ERP items with CRM items of the same code by itself."
        ),
    )


class Restriction(WireModel):
    field: Key
    operator: Operator
    values: list[Value] = Field(default_factory=list, max_length=MAX_KEYS)


class Capabilities(AnswerModel):
    """What a connector declares about itself in ``info``."""

    get_batch_size: int = Field(default=100, ge=1, le=MAX_KEYS)
    save_batch_size: int = Field(default=100, ge=1, le=MAX_KEYS)
    max_page_size: int = Field(default=500, ge=1, le=MAX_LIMIT)
    search: bool = True
    advanced_search: bool = True
    create: dict[ActorType, bool] = Field(default_factory=dict)
    rate_limit_per_second: float | None = Field(default=None, gt=0)
    languages: list[LanguageTag] = Field(
        default_factory=list,
        max_length=MAX_LANGUAGES,
        description="languages the connector answers in, its default first; empty: it takes no `language` member",
    )
    watch: bool = Field(default=False, description="answers the watch operation (erpsync.protocol.watch)")
    signing: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=lambda: ["1"],
        min_length=1,
        max_length=16,
        description=(
            'request signing versions the connector accepts ("1", "2"); the hub uses the newest it knows and never '
            'signs with v1 a connector that declares "2". Missing: ["1"].'
        ),
    )
    documents: DocumentsCapability | None = Field(
        default=None, description="the read-only documents operations (protocol/documents.py); null: none"
    )


class ActorError(AnswerModel):
    """One actor that ``save_actors`` could not save."""

    erp_key: Key | None = None
    index: int = Field(ge=0, description="position of the actor in the request")
    error_code: ErrorCode
    message: str = ""


# --- requests -----------------------------------------------------------------------------------------------------


class Request(WireModel):
    """Base of every operation's request: ``language`` only to a connector that declares ``languages``."""

    language: LanguageTag | None = Field(
        default=None, description="the language to answer in (BCP 47); absent: the connector's default"
    )

    @model_serializer(mode="wrap")
    def _language_only_when_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No ``language`` member on the wire without a language: a connector that declares none refuses it."""
        document: dict[str, Any] = handler(self)
        if self.language is None:
            document.pop("language", None)
        return document


class EmptyRequest(Request):
    pass


class TestConfigRequest(Request):
    config: Config


class SaveConnectionRequest(Request):
    connection_id: ConnectionId
    config: Config


class ConnectionRequest(Request):
    connection_id: ConnectionId


class ActorTypeRequest(ConnectionRequest):
    actor_type: ActorType


class GetActorsRequest(ActorTypeRequest):
    erp_keys: list[Key] = Field(max_length=MAX_KEYS)
    field_keys: list[Key] = Field(max_length=MAX_KEYS)


class SearchActorsRequest(ActorTypeRequest):
    text: str = Field(max_length=1000)
    field_keys: list[Key] = Field(max_length=MAX_KEYS)
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)


class SearchByParentRequest(ActorTypeRequest):
    text: str = Field(default="", max_length=1000)
    parent_type: ActorType
    parent_key: Key
    field_keys: list[Key] = Field(max_length=MAX_KEYS)
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)


class SearchAdvancedRequest(ActorTypeRequest):
    restrictions: list[Restriction] = Field(max_length=100)
    field_keys: list[Key] = Field(max_length=MAX_KEYS)
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)


class ChangesRequest(ActorTypeRequest):
    since: str | None = Field(default=None, max_length=64, description="None: from the beginning")
    field_keys: list[Key] = Field(max_length=MAX_KEYS)
    cursor: str | None = Field(default=None, max_length=1000, description="None: first page")
    limit: int = Field(default=500, ge=1, le=MAX_LIMIT)


class CreateActorRequest(ConnectionRequest):
    actor: Actor
    idempotency_key: Key


class SaveActorsRequest(ConnectionRequest):
    actors: list[Actor] = Field(max_length=MAX_KEYS)


class ListItemsRequest(ConnectionRequest):
    list_name: Key
    keys: list[Key] | None = Field(default=None, max_length=MAX_KEYS)


# --- responses ----------------------------------------------------------------------------------------------------


class Envelope(AnswerModel):
    """Members every response carries."""

    ok: bool = True
    state: State = State.OK
    user_message: str = ""
    tech_message: str = ""
    error_code: str = ""


class InfoResponse(Envelope):
    name: str
    version: str
    protocol_version: str = PROTOCOL_VERSION
    capabilities: Capabilities = Field(default_factory=Capabilities)


class FieldsResponse(Envelope):
    fields: list[FieldMeta] = Field(default_factory=list)


class ActorTypesResponse(Envelope):
    actor_types: list[ActorType] = Field(default_factory=list)


class SearchableFieldsResponse(Envelope):
    field_keys: list[Key] = Field(default_factory=list)


class ActorsResponse(Envelope):
    actors: list[Actor] = Field(default_factory=list)


class GetActorsResponse(ActorsResponse):
    not_found: list[Key] = Field(default_factory=list)


class ChangesResponse(ActorsResponse):
    deleted: list[Key] = Field(default_factory=list)
    next_cursor: str | None = Field(default=None, description="None: this was the last page")
    next_since: str | None = Field(
        default=None, description="on the last page: the value to pass as `since` on the next cycle"
    )
    total: int | None = Field(
        default=None, ge=0, description="optional, on the first page: how many actors the whole traversal answers"
    )


class ActorResponse(Envelope):
    actor: Actor | None = None


class SaveActorsResponse(ActorsResponse):
    errors: list[ActorError] = Field(default_factory=list)


class ListItemsResponse(Envelope):
    items: list[ListItem] = Field(default_factory=list)


OPERATIONS: dict[str, tuple[type[Request], type[Envelope]]] = {
    "info": (EmptyRequest, InfoResponse),
    "config_fields": (EmptyRequest, FieldsResponse),
    "test_config": (TestConfigRequest, Envelope),
    "save_connection": (SaveConnectionRequest, Envelope),
    "test_connection": (ConnectionRequest, Envelope),
    "delete_connection": (ConnectionRequest, Envelope),
    "actor_types": (ConnectionRequest, ActorTypesResponse),
    "actor_fields": (ActorTypeRequest, FieldsResponse),
    "searchable_fields": (ActorTypeRequest, SearchableFieldsResponse),
    "get_actors": (GetActorsRequest, GetActorsResponse),
    "search_actors": (SearchActorsRequest, ActorsResponse),
    "search_by_parent": (SearchByParentRequest, ActorsResponse),
    "search_advanced": (SearchAdvancedRequest, ActorsResponse),
    "changes": (ChangesRequest, ChangesResponse),
    "create_actor": (CreateActorRequest, ActorResponse),
    "save_actors": (SaveActorsRequest, SaveActorsResponse),
    "list_items": (ListItemsRequest, ListItemsResponse),
}

# The documents capability builds on the models above; it is a module of its own (protocol/documents.py).
from erpsync.protocol.documents import OPERATIONS as DOCUMENT_OPERATIONS  # noqa: E402
from erpsync.protocol.documents import DocumentsCapability  # noqa: E402

OPERATIONS.update(DOCUMENT_OPERATIONS)
Capabilities.model_rebuild()
InfoResponse.model_rebuild()


def error_envelope(code: ErrorCode | str, user_message: str, tech_message: str = "") -> dict[str, Any]:
    """The JSON of a failed response."""
    return Envelope(
        ok=False, state=State.ERROR, user_message=user_message, tech_message=tech_message, error_code=str(code)
    ).model_dump(mode="json")


def describe_invalid(error: PydanticValidationError, *, most: int = 5) -> str:
    """A user message naming each bad member of a request, e.g. ``actors[0].actor_type: Input should be ...``."""
    problems = [f"{_member_path(detail['loc'])}: {_problem(detail)}" for detail in error.errors()]
    more = f" (and {len(problems) - most} more)" if len(problems) > most else ""
    return "; ".join(problems[:most]) + more


def _member_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path.lstrip(".") or "(body)"


def _problem(detail: ErrorDetails) -> str:
    return "unknown member" if detail["type"] == "extra_forbidden" else detail["msg"]
