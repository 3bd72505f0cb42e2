"""What applying a configuration file would change: the first half of ``erpsync config apply``.

``make_plan`` reads the hub in one short read transaction, resolves the file's secret references, checks what the
file names (connectors, users, groups, CRM list labels, the connections of the priority), asks the connectors only
what it must read (``info`` of a new connector or a new URL or secret, the config fields of each connection's
connector, to check and complete its config) with no transaction open, and compares: per object and field, added,
changed or unchanged. Every problem is collected and reported at once (``FileRefusedError``), each with its place in
the file; nothing is written. The diff names fields, never values, so no secret is ever shown.

What the file holds replaces what the hub has, field by field (a connection's list mappings as a whole, its mappings
per actor type); what the file does not name (connectors, connections, users, groups, list items, a mapping's actor
type) is left as it is: applying never deletes.

Public names: ``make_plan``, ``Plan``, ``Change``, ``ConnectorPlan``, ``ConnectionPlan``, ``UserPlan``,
``GroupPlan`` (the differences: ``sync.config_diff``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from erpsync import accounts
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.crypto import Cipher
from erpsync.errors import ErpsyncError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, SyncConnector
from erpsync.sync import connection_config, connectors
from erpsync.sync.config_diff import Difference, differences, paths_and_details
from erpsync.sync.config_export import export_config
from erpsync.sync.config_file import (
    ConnectionSpec,
    ConnectorSpec,
    FileRefusedError,
    GroupSpec,
    HubConfig,
    SecretRef,
    UserSpec,
)
from erpsync.sync.configuration import priority_order
from erpsync.sync.connections import full_config
from erpsync.sync.connectors import ConnectorClients

Kind = Literal["added", "changed", "unchanged"]
MAX_SECRET_BYTES = 64 * 1024


@dataclass(frozen=True)
class Change:
    """One object of the file against the hub: ``fields`` names what changes (never a value)."""

    kind: Kind
    what: str  # connector, connection, user, group, crm list, priority
    name: str
    fields: tuple[str, ...] = ()
    details: tuple[str, ...] = ()  # "field: old -> new" where both are short plain values and not secrets


@dataclass
class ConnectorPlan:
    spec: ConnectorSpec
    url: str  # as the file gives it, or read from where it points
    secret: str
    existing: SyncConnector | None
    changed: tuple[str, ...]
    details: tuple[str, ...] = ()
    info: m.InfoResponse | None = None  # probed: a new connector, or a new URL or secret


@dataclass
class ConnectionPlan:
    spec: ConnectionSpec
    existing: ErpConnection | None
    fields: list[m.FieldMeta]  # the connector's config fields
    config: dict[str, m.Value]  # the complete, checked config, password fields resolved: never show or log it
    changed: tuple[str, ...]
    details: tuple[str, ...] = ()
    old_config: dict[str, m.Value] | None = None  # what the connector has now: sent back if the apply fails

    @property
    def config_changed(self) -> bool:
        return self.existing is None or any(path.startswith("config") for path in self.changed)


@dataclass
class UserPlan:
    spec: UserSpec
    existing_id: int | None
    password: str | None  # for a new user only
    changed: tuple[str, ...]
    details: tuple[str, ...] = ()


@dataclass
class GroupPlan:
    spec: GroupSpec
    existing_id: int | None
    changed: tuple[str, ...]
    details: tuple[str, ...] = ()


@dataclass
class Plan:
    """The file checked against the hub, with the clients that talk to its connectors (``close`` them)."""

    config: HubConfig
    connectors: list[ConnectorPlan]
    connections: list[ConnectionPlan]
    users: list[UserPlan]
    groups: list[GroupPlan]
    new_labels: dict[CrmList, list[str]]
    priority: list[str] | None  # every live connection's name in the new order; None: unchanged
    seen: HubConfig | None = None  # the hub as the plan read it: applying refuses a hub changed since
    clients: dict[str, ConnectorClient] = field(default_factory=dict)  # by connector name
    probes: list[ConnectorClient] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        changes = [_change("connector", p.spec.name, p.existing is None, p) for p in self.connectors]
        changes += [_change("connection", p.spec.name, p.existing is None, p) for p in self.connections]
        changes += [Change("added", "crm list", str(name), tuple(labels)) for name, labels in self.new_labels.items()]
        changes += [_change("user", p.spec.login, p.existing_id is None, p) for p in self.users]
        changes += [_change("group", p.spec.name, p.existing_id is None, p) for p in self.groups]
        if self.priority is not None:
            changes.append(Change("changed", "priority", "sync priority", tuple(self.priority)))
        return changes

    @property
    def changes_anything(self) -> bool:
        return any(change.kind != "unchanged" for change in self.changes)

    def close(self) -> None:
        for client in self.probes:
            client.close()
        self.probes.clear()


def _change(what: str, name: str, added: bool, plan: ConnectorPlan | ConnectionPlan | UserPlan | GroupPlan) -> Change:
    if added:
        return Change("added", what, name)
    return Change("changed" if plan.changed else "unchanged", what, name, plan.changed, plan.details)


# --- the hub as it is -------------------------------------------------------------------------------------------------


@dataclass
class _Hub:
    exported: HubConfig
    connectors: dict[str, SyncConnector]
    connector_secrets: dict[str, str]
    connections: dict[str, ErpConnection]
    connection_configs: dict[str, dict[str, m.Value]]
    users: dict[str, int]
    groups: dict[str, int]
    labels: dict[CrmList, set[str]]
    priority: list[str]


def _read_hub(session: Session, cipher: Cipher) -> _Hub:
    live = priority_order(session)
    for connection in live:
        _ = connection.connector, connection.actor_fields  # loaded now: read again after the transaction ends
    return _Hub(
        exported=export_config(session, cipher),
        connectors={c.name.lower(): c for c in connectors.list_connectors(session)},
        connector_secrets={
            c.name.lower(): cipher.decrypt(c.secret_encrypted) for c in connectors.list_connectors(session)
        },
        connections={c.name.lower(): c for c in live},
        connection_configs={c.name.lower(): full_config(cipher, c) for c in live},
        users={u.login: u.id for u in accounts.list_users(session)},
        groups={g.name.lower(): g.id for g in accounts.list_groups(session)},
        labels={name: {i.label.lower() for i in crm_lists.list_items(session, name)} for name in CrmList},
        priority=[c.name for c in live],
    )


# --- secrets ----------------------------------------------------------------------------------------------------------


@dataclass
class _Secrets:
    environ: Mapping[str, str]
    base: Path
    problems: list[str] = field(default_factory=list)

    def resolve(self, ref: SecretRef, where: str) -> str:
        """The secret's value ('' after recording a problem)."""
        value = self._read(ref, where)
        if value is not None and not value:
            self.problems.append(f"{where}: the {ref} is empty")
        return value or ""

    def _read(self, ref: SecretRef, where: str) -> str | None:
        if ref.env is not None:
            if ref.env not in self.environ:
                self.problems.append(f"{where}: the environment variable {ref.env} is not set")
            return self.environ.get(ref.env)
        path = self.base / (ref.file or "")
        try:
            with path.open("rb") as file:
                content = file.read(MAX_SECRET_BYTES + 1)
            if len(content) > MAX_SECRET_BYTES:
                self.problems.append(f"{where}: the secret file {path} is larger than {MAX_SECRET_BYTES} bytes")
                return None
            return content.decode("utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{where}: cannot read the secret file {path}: {type(exc).__name__}")
            return None


# --- the plan ---------------------------------------------------------------------------------------------------------


def make_plan(
    database: Database,
    clients: ConnectorClients,
    config: HubConfig,
    *,
    environ: Mapping[str, str] | None = None,
    base: Path | None = None,
) -> Plan:
    """The file against the hub, or ``FileRefusedError`` with every problem; writes nothing.

    ``environ`` and ``base`` (the folder relative ``{file: ...}`` references start from) default to the process's."""
    secrets = _Secrets(os.environ if environ is None else environ, base or Path.cwd())
    with database.read_session() as session:
        hub = _read_hub(session, clients.cipher)
    plan = Plan(config, [], [], [], [], {}, None, seen=hub.exported)
    try:
        _plan_everything(plan, hub, clients, secrets)
    except BaseException:
        plan.close()
        raise
    if secrets.problems:
        plan.close()
        raise FileRefusedError(secrets.problems)
    return plan


def _plan_everything(plan: Plan, hub: _Hub, clients: ConnectorClients, secrets: _Secrets) -> None:
    """The file's own problems first (references, secrets); only then are connectors asked anything."""
    problems, config = secrets.problems, plan.config
    plan.users = [_user_plan(spec, hub, secrets) for spec in config.users]
    problems += _administrator_problems(config, hub)
    logins = set(hub.users) | {spec.login for spec in config.users}
    group_names = set(hub.groups) | {spec.name.lower() for spec in config.groups}
    plan.groups = [_group_plan(spec, hub, logins, problems) for spec in config.groups]
    plan.new_labels = _new_labels(config, hub)
    plan.connectors = [_connector_plan(spec, hub, secrets) for spec in config.connectors]
    connector_names = set(hub.connectors) | {spec.name.lower() for spec in config.connectors}
    known_labels = {
        crm_list: labels | {label.strip().lower() for label in config.crm_lists.get(crm_list, ())}
        for crm_list, labels in hub.labels.items()
    }
    for spec in config.connections:
        problems += _reference_problems(spec, hub, connector_names, logins, group_names, known_labels)
    plan.priority = _priority(config, hub, problems)
    if problems:
        return
    for connector_plan in plan.connectors:
        _probe(connector_plan, clients, problems)
    if problems:
        return
    _connector_clients(plan, hub, clients)
    plan.connections = [
        connection_plan
        for spec in config.connections
        if (connection_plan := _connection_plan(spec, hub, plan, secrets)) is not None
    ]


def _user_plan(spec: UserSpec, hub: _Hub, secrets: _Secrets) -> UserPlan:
    where = f"users[{spec.login}]"
    existing = hub.users.get(spec.login)
    if existing is not None:
        current = next(u for u in hub.exported.users if u.login == spec.login)
        paths, details = paths_and_details(differences(_no_password(current), _no_password(spec)))
        return UserPlan(spec, existing, None, paths, details)
    if spec.password is None:
        secrets.problems.append(f"{where}.password: a new user needs a password reference ({{env: NAME}})")
        return UserPlan(spec, None, None, ())
    password = secrets.resolve(spec.password, f"{where}.password")
    if password:
        try:
            accounts.check_password(password, login=spec.login)
        except ErpsyncError as exc:
            secrets.problems.append(f"{where}.password: {exc.user_message}")
    return UserPlan(spec, None, password, ())


def _administrator_problems(config: HubConfig, hub: _Hub) -> list[str]:
    """A file may not take the last active administrator's role or account away: nobody could sign in to fix it."""
    after = {user.login: user for user in hub.exported.users} | {user.login: user for user in config.users}
    had = any(user.admin and user.active for user in hub.exported.users)
    if had and not any(user.admin and user.active for user in after.values()):
        return ["users: the hub would have no active administrator left"]
    return []


def _no_password(spec: UserSpec) -> UserSpec:
    return spec.model_copy(update={"password": None})


def _group_plan(spec: GroupSpec, hub: _Hub, logins: set[str], problems: list[str]) -> GroupPlan:
    problems += [f"groups[{spec.name}].members: no user {login!r}" for login in spec.members if login not in logins]
    existing = hub.groups.get(spec.name.lower())
    if existing is None:
        return GroupPlan(spec, None, ())
    current = next(g for g in hub.exported.groups if g.name.lower() == spec.name.lower())
    paths, details = paths_and_details(differences(current, spec.model_copy(update={"name": current.name})))
    return GroupPlan(spec, existing, paths, details)


def _new_labels(config: HubConfig, hub: _Hub) -> dict[CrmList, list[str]]:
    new: dict[CrmList, list[str]] = {}
    for crm_list, labels in config.crm_lists.items():
        if missing := [label for label in labels if label.strip().lower() not in hub.labels[crm_list]]:
            new[crm_list] = missing
    return new


def _connector_plan(spec: ConnectorSpec, hub: _Hub, secrets: _Secrets) -> ConnectorPlan:
    secret = secrets.resolve(spec.secret, f"connectors[{spec.name}].secret")
    url = spec.url if isinstance(spec.url, str) else secrets.resolve(spec.url, f"connectors[{spec.name}].url")
    url = url.strip().rstrip("/")
    existing = hub.connectors.get(spec.name.lower())
    if existing is None:
        return ConnectorPlan(spec, url, secret, None, ())
    found = [
        Difference("url", existing.url, url),
        Difference("secret", hub.connector_secrets[spec.name.lower()], secret),
    ]
    paths, details = paths_and_details([d for d in found if d.old != d.new], secrets=("secret",))
    return ConnectorPlan(spec, url, secret, existing, paths, details)


def _probe(plan: ConnectorPlan, clients: ConnectorClients, problems: list[str]) -> None:
    """Ask ``info`` of a new connector, or of a new URL or secret (``connectors.probe_info``)."""
    if plan.existing is not None and not plan.changed:
        return
    try:
        url = connectors.check_url(plan.url, https_required=clients.https_required)
        plan.info = connectors.probe_info(clients, url, connectors.check_secret(plan.secret))
    except ErpsyncError as exc:
        problems.append(f"connectors[{plan.spec.name}]: {exc.user_message}")


def _connector_clients(plan: Plan, hub: _Hub, clients: ConnectorClients) -> None:
    """A client per connector: the hub's own, or a new one for a new connector or a new URL or secret."""
    for name, connector in hub.connectors.items():
        plan.clients[name] = clients.for_connector(connector)
    for connector_plan in plan.connectors:
        if connector_plan.info is not None:
            probe = clients.probe(connectors.check_url(connector_plan.url), connector_plan.secret)
            plan.probes.append(probe)
            plan.clients[connector_plan.spec.name.lower()] = probe


def _reference_problems(
    spec: ConnectionSpec,
    hub: _Hub,
    connector_names: set[str],
    logins: set[str],
    group_names: set[str],
    known_labels: Mapping[CrmList, set[str]],
) -> list[str]:
    where = f"connections[{spec.name}]"
    problems = []
    if spec.connector.lower() not in connector_names:
        problems.append(f"{where}.connector: no connector {spec.connector!r} in the file or the hub")
    existing = hub.connections.get(spec.name.lower())
    if existing is not None and existing.connector.name.lower() != spec.connector.lower():
        problems.append(
            f"{where}.connector: the connection uses {existing.connector.name!r}; a connection cannot move to "
            "another connector (delete it and apply again)"
        )
    problems += [f"{where}.visibility.users: no user {u!r}" for u in spec.visibility.users if u not in logins]
    problems += [
        f"{where}.visibility.groups: no group {g!r}" for g in spec.visibility.groups if g.lower() not in group_names
    ]
    for name, list_mapping in spec.list_mappings.items():
        known = known_labels[list_mapping.crm_list]
        problems += [
            f"{where}.list_mappings.{name}.items.{key}: no item {label!r} in the CRM list {list_mapping.crm_list}"
            for key, label in list_mapping.items.items()
            if label is not None and label.lower() not in known
        ]
    return problems


def _connection_plan(spec: ConnectionSpec, hub: _Hub, plan: Plan, secrets: _Secrets) -> ConnectionPlan | None:
    where = f"connections[{spec.name}]"
    client = plan.clients[spec.connector.lower()]
    try:
        fields = client.config_fields().fields
    except ErpsyncError as exc:
        secrets.problems.append(f"{where}: the connector did not answer with its config fields: {exc.user_message}")
        return None
    passwords = connection_config.password_keys(fields)
    values: dict[str, m.Value] = {}
    for key, value in spec.config.items():
        if isinstance(value, SecretRef):
            values[key] = secrets.resolve(value, f"{where}.config.{key}")
        elif key in passwords and value:
            secrets.problems.append(
                f"{where}.config.{key}: a password field takes a reference ({{env: NAME}}), not a value"
            )
        else:
            values[key] = value
    try:
        checked = connection_config.check_config(fields, values)
    except ErpsyncError as exc:
        secrets.problems.append(f"{where}.config: {exc.user_message}")
        return None
    existing = hub.connections.get(spec.name.lower())
    if existing is None:
        return ConnectionPlan(spec, None, fields, checked, ())
    hidden = {f"config.{key}" for key in passwords} | {
        f"config.{key}" for key, value in spec.config.items() if isinstance(value, SecretRef)
    }
    paths, details = paths_and_details(_connection_differences(spec, hub, checked), hidden)
    return ConnectionPlan(spec, existing, fields, checked, paths, details, hub.connection_configs[spec.name.lower()])


def _connection_differences(spec: ConnectionSpec, hub: _Hub, checked: dict[str, m.Value]) -> list[Difference]:
    current = next(c for c in hub.exported.connections if c.name.lower() == spec.name.lower())
    current = current.model_copy(
        update={
            "name": spec.name,
            "config": hub.connection_configs[spec.name.lower()],
            "mappings": {k: v for k, v in current.mappings.items() if k in spec.mappings},
        }
    )
    return differences(current, spec.model_copy(update={"config": checked}))


def _priority(config: HubConfig, hub: _Hub, problems: list[str]) -> list[str] | None:
    names = {name.lower(): name for name in hub.priority} | {c.name.lower(): c.name for c in config.connections}
    problems += [
        f"priority: no connection {name!r} in the file or the hub"
        for name in config.priority
        if name.lower() not in names
    ]
    first = [names[name.lower()] for name in config.priority if name.lower() in names]
    rest = [name for lower, name in names.items() if name not in first]
    order = first + rest
    return None if order == hub.priority else order
