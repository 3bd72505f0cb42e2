"""A hub's configuration as one YAML file, to keep in version control and to promote from a test hub to production.

The file holds connectors, connections (config, visibility, description, active), their mappings (fields in rank
order), defaults, list mappings, policies, the sync priority, the items of the CRM lists, users and groups. It never
holds a secret: a connector's secret, a connection's password fields and a new user's password are references to an
environment variable (``{env: NAME}``) or a file (``{file: /path}``) that the applying side resolves (a connector's
URL may be one too, so one file serves hubs whose connectors run at different addresses). CRM list items
are named by their labels, users by login and groups by name, so a file written on one hub means the same on another
whose ids differ.

``dump``/``load`` are the YAML side: ``load`` reports every problem of a file at once, each with its place in the
file (``connections[Main].mappings.customer.fields[2].direction: ...``). Reading a hub into this model is
``sync.config_export``; applying a file is ``sync.config_apply``.

Public names: ``HubConfig`` and its parts, ``SecretRef``, ``dump(config)``, ``load(text)``, ``FileRefusedError``,
``FORMAT_VERSION``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from erpsync import accounts
from erpsync.crm.fields import CrmList
from erpsync.crm.lists import MAX_LABEL_LENGTH
from erpsync.errors import ValidationError
from erpsync.protocol.models import ActorType, Value
from erpsync.sync.mapping.models import AutoCreate, CrmDeletePolicy, ErpDeletePolicy, SyncFilter
from erpsync.sync.merge import Direction, Policy
from erpsync.text import has_control

FORMAT_VERSION: Literal[1] = 1


def _no_control(value: str) -> str:
    if has_control(value):
        raise ValueError("must not contain control characters (such as CR, LF, TAB or NUL)")
    return value


_NO_CONTROL = AfterValidator(_no_control)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), _NO_CONTROL]
Login = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), _NO_CONTROL]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), _NO_CONTROL]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LABEL_LENGTH), _NO_CONTROL]
MAX_FILE_BYTES = 10 * 1024 * 1024


class FileRefusedError(ValidationError):
    """A configuration file refused; ``problems`` holds every reason, each starting with its place in the file."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("the configuration file is refused:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = tuple(problems)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _sorted_unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


class SecretRef(_Strict):
    """Where the applying side reads a secret: an environment variable or a file (its content, trailing newline cut)."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=255)
    file: str | None = Field(default=None, min_length=1, max_length=4096)

    @model_validator(mode="before")
    @classmethod
    def _a_reference(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a secret is written as a reference, {env: NAME} or {file: PATH}, never as its value")
        return data

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret reference names exactly one of env or file")
        return self

    def __str__(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"


class ConnectorSpec(_Strict):
    name: Name
    url: Url | SecretRef  # a reference lets one file serve hubs whose connector URLs differ
    secret: SecretRef


class VisibilitySpec(_Strict):
    everyone: bool = True
    users: tuple[str, ...] = ()  # logins
    groups: tuple[str, ...] = ()  # group names

    _sorted = field_validator("users", "groups")(_sorted_unique)


class FieldSpec(_Strict):
    erp: str = Field(min_length=1, max_length=255)
    crm: str | None = None
    direction: Direction = Direction.NONE
    show_in_search: bool = False
    show_in_tab: bool = False
    policy: Policy | None = None  # None: the connection's policy


class DefaultSpec(_Strict):
    value: Value = None
    ask_user: bool = False


class ActorMappingSpec(_Strict):
    """One actor type's mapping: ``fields`` in rank order (the first is shown first), the create defaults, the sync
    filter, automatic creation."""

    active: bool = False
    fields: tuple[FieldSpec, ...] = ()
    defaults: dict[str, DefaultSpec] = Field(default_factory=dict)
    erp_delete: ErpDeletePolicy = ErpDeletePolicy.KEEP  # docs/concepts.md *Deletes*
    crm_delete: CrmDeletePolicy = CrmDeletePolicy.UNLINK
    filter: SyncFilter = SyncFilter()  # which records sync at all (``sync.filters``); none: every record
    auto_create: AutoCreate = AutoCreate()  # docs/concepts.md *Automatic creation*; off unless given


class ListMappingSpec(_Strict):
    """An ERP list mapped to a CRM list: ERP item key -> CRM item label (null: explicitly not mapped)."""

    crm_list: CrmList
    items: dict[str, str | None] = Field(default_factory=dict)


class ConnectionSpec(_Strict):
    name: Name
    connector: Name
    description: str = Field(default="", max_length=10_000)
    active: bool = False
    visibility: VisibilitySpec = VisibilitySpec()
    config: dict[str, Value | SecretRef] = Field(default_factory=dict)
    policy: Policy = Policy.NEWEST
    no_blank_overwrite: bool = False
    mappings: dict[ActorType, ActorMappingSpec] = Field(default_factory=dict)
    list_mappings: dict[str, ListMappingSpec] = Field(default_factory=dict)


class UserSpec(_Strict):
    login: Login
    name: str = Field(default="", max_length=255)
    admin: bool = False
    licences: tuple[accounts.Licence, ...] = ()
    active: bool = True
    password: SecretRef | None = None  # read only to create the user: an existing user keeps their password

    @field_validator("licences")
    @classmethod
    def _sorted_licences(cls, licences: tuple[accounts.Licence, ...]) -> tuple[accounts.Licence, ...]:
        return tuple(sorted(set(licences)))


class GroupSpec(_Strict):
    name: Name
    description: str = Field(default="", max_length=10_000)
    members: tuple[str, ...] = ()  # logins

    _sorted = field_validator("members")(_sorted_unique)


class HubConfig(_Strict):
    erpsync_config: Literal[1] = FORMAT_VERSION
    connectors: tuple[ConnectorSpec, ...] = ()
    connections: tuple[ConnectionSpec, ...] = ()
    priority: tuple[str, ...] = ()  # connection names, first served first
    crm_lists: dict[CrmList, tuple[Label, ...]] = Field(default_factory=dict)  # labels in rank order
    users: tuple[UserSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()


# --- YAML -------------------------------------------------------------------------------------------------------------


def dump(config: HubConfig) -> str:
    """The file's text: what differs from the defaults, in the order of the model."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    data = {"erpsync_config": FORMAT_VERSION, **data}
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120))


def load(text: str) -> HubConfig:
    """The file's configuration, or ``FileRefusedError`` naming every problem with its place in the file."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise FileRefusedError([f"file: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"])
    if "\x00" in text:
        raise FileRefusedError(["file: holds a NUL character"])
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise FileRefusedError([f"file: not YAML: {error}"]) from None
    if not isinstance(data, dict) or data.get("erpsync_config") != FORMAT_VERSION:
        raise FileRefusedError([f"file: not an erpsync configuration (expected erpsync_config: {FORMAT_VERSION})"])
    try:
        config = HubConfig.model_validate(data)
    except PydanticValidationError as error:
        problems = [f"{place(data, e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors()]
        raise FileRefusedError(problems) from None
    if problems := _duplicates(config):
        raise FileRefusedError(problems)
    return config


def place(data: Any, loc: Sequence[int | str]) -> str:
    """A place in the file as a person reads it: items of named lists by their name (``connections[Main]``)."""
    text, node = "", data
    for part in loc:
        parent, node = node, _child(node, part)
        if isinstance(part, int):
            named = isinstance(node, dict) and _name_of(parent, node)
            text += f"[{named or part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "file"


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _name_of(parent: Any, node: dict[str, Any]) -> str | None:
    for key in ("name", "login", "erp"):
        name = node.get(key)
        if isinstance(name, str) and isinstance(parent, list):
            return name if 0 < len(name) <= 255 and not has_control(name) else None
    return None


def _duplicates(config: HubConfig) -> list[str]:
    problems = _repeated("connectors", (c.name.lower() for c in config.connectors))
    problems += _repeated("connections", (c.name.lower() for c in config.connections))
    problems += _repeated("users", (u.login.lower() for u in config.users))
    problems += _repeated("groups", (g.name.lower() for g in config.groups))
    problems += _repeated("priority", (name.lower() for name in config.priority))
    for connection in config.connections:
        for actor_type, mapping in connection.mappings.items():
            where = f"connections[{connection.name}].mappings.{actor_type}.fields"
            problems += _repeated(where, (row.erp for row in mapping.fields))
    for crm_list, labels in config.crm_lists.items():
        problems += _repeated(f"crm_lists.{crm_list}", (label.lower() for label in labels))
    return problems


def _repeated(where: str, names: Iterable[str]) -> list[str]:
    return [f"{where}[{name}]: named {n} times" for name, n in Counter(names).items() if n > 1]
