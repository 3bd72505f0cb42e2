"""Applying a configuration file (``sync.config_plan`` says what changes): all of it or nothing.

``apply_plan`` first does the connector I/O a change needs, with no transaction open: a new or changed connection
config is tested and sent to the connector (a new connection under a new UUID), a new connection's actor types and
fields are read, and the ERP lists each changed connection's checks need. Then every database write happens in ONE
transaction: CRM list items, users, groups, connectors, connections with their mappings, ranks, defaults, list
mappings, policies and activation, the sync priority, each with its audit entry. A refused part (a mapping rule, an
activation rule) is collected with its place in the file; if any is, or anything fails, the transaction is rolled
back and what was sent to connectors is undone (a new connection forgotten, a changed config sent back). A plan that
changes nothing does nothing.

Public names: ``apply_plan(database, clients, plan, *, by)``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync import accounts, audit
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.crypto import Cipher
from erpsync.errors import ConflictError, ErpsyncError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, Group, ListItem, SyncConnector, User
from erpsync.sync import (
    auto_config,
    configuration,
    configuration_loading,
    connection_visibility,
    connections,
    connectors,
    filter_config,
)
from erpsync.sync.config_export import export_config
from erpsync.sync.config_file import ActorMappingSpec, ConnectionSpec, FileRefusedError
from erpsync.sync.config_plan import Change, ConnectionPlan, ConnectorPlan, GroupPlan, Plan, UserPlan
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import ActorTypeMapping, FieldDefault, FieldMapping, ListMapping

logger = logging.getLogger(__name__)
VIA = "config apply"


@dataclass
class _Sent:
    """A config sent to a connector before the transaction: forgotten (new) or sent back (``old``) if it fails."""

    client: ConnectorClient
    connection_uuid: str
    old: dict[str, m.Value] | None


@dataclass
class _Prepared:
    """What the connectors answered for one connection, read before the transaction."""

    uuid: str
    metadata: connections.Metadata | None = None  # a new connection's actor types and fields
    erp_lists: dict[str, list[m.ListItem]] = field(default_factory=dict)


def apply_plan(database: Database, clients: ConnectorClients, plan: Plan, *, by: int | None = None) -> list[Change]:
    """Apply ``plan``; ``FileRefusedError`` (every reason) when a part is refused, and then nothing has changed."""
    if not plan.changes_anything:
        return plan.changes
    sent: list[_Sent] = []
    try:
        prepared = _ask_connectors(plan, sent)
        with database.session() as session:
            _write(session, clients.cipher, plan, prepared, by)
    except BaseException:
        _undo(sent)
        raise
    return plan.changes


# --- before the transaction: the connectors ---------------------------------------------------------------------------


def _ask_connectors(plan: Plan, sent: list[_Sent]) -> dict[str, _Prepared]:
    prepared, problems = {}, []
    for connection_plan in plan.connections:
        if connection_plan.existing is not None and not connection_plan.changed:
            continue
        where = f"connections[{connection_plan.spec.name}]"
        client = plan.clients[connection_plan.spec.connector.lower()]
        try:
            prepared[connection_plan.spec.name] = _prepare(client, connection_plan, sent)
        except ErpsyncError as exc:
            problems.append(f"{where}: {exc.user_message}")
    if problems:
        raise FileRefusedError(problems)
    return prepared


def _prepare(client: ConnectorClient, plan: ConnectionPlan, sent: list[_Sent]) -> _Prepared:
    existing = plan.existing
    result = _Prepared(uuid=existing.uuid if existing else str(uuid.uuid4()))
    if plan.config_changed:
        try:
            client.test_config(config=plan.config)
        except ErpsyncError as exc:
            raise type(exc)(f"Test connection failed: {exc.user_message}") from exc
        old = None if existing is None else plan.old_config
        client.save_connection(connection_id=result.uuid, config=plan.config)
        sent.append(_Sent(client, result.uuid, old))
    if existing is None:
        result.metadata = connections.fetch_metadata(client, result.uuid)
        offered = result.metadata.fields
    else:
        offered = configuration_loading.offered_fields(existing)
    names = sorted({f.list_name for fs in offered.values() for f in fs if f.type is m.FieldType.LIST and f.list_name})
    result.erp_lists = {name: client.list_items(connection_id=result.uuid, list_name=name).items for name in names}
    return result


def _undo(sent: list[_Sent]) -> None:
    for item in reversed(sent):
        try:
            if item.old is None:
                item.client.delete_connection(connection_id=item.connection_uuid)
            else:
                item.client.save_connection(connection_id=item.connection_uuid, config=item.old)
        except ErpsyncError as exc:  # the hub's state is what counts; the connector keeps an unused config
            logger.warning("connector did not take back connection %s: %s", item.connection_uuid, exc.user_message)


# --- the transaction --------------------------------------------------------------------------------------------------


def _write(session: Session, cipher: Cipher, plan: Plan, prepared: dict[str, _Prepared], by: int | None) -> None:
    if export_config(session, cipher) != plan.seen:
        raise ConflictError("the hub's configuration changed while the file was being applied: apply it again")
    problems: list[str] = []
    _write_labels(session, plan, by)
    for user_plan in plan.users:
        _attempt(problems, f"users[{user_plan.spec.login}]", partial(_write_user, session, user_plan, by))
    for group_plan in plan.groups:
        _attempt(problems, f"groups[{group_plan.spec.name}]", partial(_write_group, session, group_plan, by))
    connector_ids = {c.name.lower(): c.id for c in connectors.list_connectors(session)}
    for connector_plan in plan.connectors:
        connector_ids[connector_plan.spec.name.lower()] = _write_connector(session, cipher, connector_plan, by)
    for connection_plan in plan.connections:
        if connection_plan.existing is None or connection_plan.changed:
            writer = _ConnectionWriter(session, cipher, connection_plan, prepared[connection_plan.spec.name], by)
            writer.write(connector_ids, problems)
    if plan.priority is not None and not problems:
        live = {c.name: c.id for c in configuration.priority_order(session)}
        configuration.set_priority(session, [live[name] for name in plan.priority])
        _audit(session, by, "update", "priority", None, order=plan.priority)
    if problems:
        raise FileRefusedError(problems)


def _write_labels(session: Session, plan: Plan, by: int | None) -> None:
    for crm_list, labels in plan.new_labels.items():
        for label in labels:
            item = crm_lists.add_item(session, crm_list, label=label)
            _audit(session, by, "create", f"list:{crm_list}", item.id, label=label)


def _attempt(problems: list[str], where: str, work: Callable[[], object]) -> None:
    try:
        work()
    except configuration.RefusedError as exc:
        problems += [f"{where}.{configuration.describe(problem)}" for problem in exc.problems]
    except ErpsyncError as exc:
        problems.append(f"{where}: {exc.user_message}")


def _audit(session: Session, by: int | None, action: str, target: str, target_id: int | None, **detail: object) -> None:
    detail = {**detail, "via": VIA}
    audit.record(session, user_id=by, action=action, target_type=target, target_id=target_id, detail=detail)


def _write_user(session: Session, plan: UserPlan, by: int | None) -> None:
    spec = plan.spec
    if plan.existing_id is None:
        assert plan.password is not None, "the plan refuses a new user without a password"
        user = accounts.create_user(session, login=spec.login, password=plan.password)
        action, detail = "create", {"login": spec.login, "name": spec.name, "licences": list(spec.licences)}
    elif plan.changed:
        user = accounts.get_user(session, plan.existing_id)
        action, detail = "update", {"changed": list(plan.changed)}
    else:
        return
    accounts.update_user(session, user, name=spec.name, is_admin=spec.admin, licences=spec.licences, active=spec.active)
    _audit(session, by, action, "user", user.id, **detail)


def _user_ids(session: Session, logins: tuple[str, ...]) -> list[int]:
    return list(session.scalars(select(User.id).where(User.login.in_(logins)))) if logins else []


def _write_group(session: Session, plan: GroupPlan, by: int | None) -> None:
    spec = plan.spec
    members = _user_ids(session, spec.members)
    if plan.existing_id is None:
        group = accounts.create_group(session, name=spec.name, description=spec.description, member_ids=members)
        _audit(session, by, "create", "group", group.id, name=spec.name, members=list(spec.members))
    elif plan.changed:
        group = accounts.get_group(session, plan.existing_id)
        accounts.update_group(session, group, description=spec.description, member_ids=members)
        _audit(session, by, "update", "group", group.id, changed=list(plan.changed))


def _write_connector(session: Session, cipher: Cipher, plan: ConnectorPlan, by: int | None) -> int:
    if plan.existing is not None and not plan.changed:
        return plan.existing.id
    connector = session.get(SyncConnector, plan.existing.id) if plan.existing else None
    if connector is None:
        connector = SyncConnector(name=plan.spec.name)
        session.add(connector)
    assert plan.info is not None, "the plan probed every new connector, URL and secret"
    connector.url = connectors.check_url(plan.url)
    connector.secret_encrypted = cipher.encrypt(plan.secret)
    connector.info_json = connectors.info_json(plan.info)
    session.flush()
    action, changed = ("update", list(plan.changed)) if plan.existing else ("create", ["name", "url", "secret"])
    _audit(session, by, action, "connector", connector.id, name=connector.name, url=connector.url, changed=changed)
    return connector.id


class _ConnectionWriter:
    """Writes one connection of the file: the row, its config and visibility, then every part of its configuration;
    an active connection is checked against the activation rules once, with all its parts in place."""

    def __init__(
        self, session: Session, cipher: Cipher, plan: ConnectionPlan, prepared: _Prepared, by: int | None
    ) -> None:
        self.session, self.cipher, self.plan, self.prepared, self.by = session, cipher, plan, prepared, by
        self.spec: ConnectionSpec = plan.spec
        self.where = f"connections[{plan.spec.name}]"

    def write(self, connector_ids: dict[str, int], problems: list[str]) -> None:
        connection = self._row(connector_ids)
        self._attempt(
            problems,
            "visibility",
            lambda: connection_visibility.set_visibility(self.session, connection, self._visibility()),
        )
        connection.active = False  # checked as a whole below, once every part is saved
        configuration.save_policy(
            self.session, connection, policy=self.spec.policy, no_blank_overwrite=self.spec.no_blank_overwrite
        )
        for actor_type, mapping in self.spec.mappings.items():
            self._attempt(problems, f"mappings.{actor_type}", partial(self._mapping, connection, actor_type, mapping))
        self._attempt(problems, "list_mappings", lambda: self._list_mappings(connection))
        if self.spec.active and not problems:
            self._attempt(
                problems,
                "active",
                lambda: configuration.activate(self.session, connection, erp_lists=self.prepared.erp_lists),
            )
        action = "update" if self.plan.existing else "create"
        _audit(
            self.session,
            self.by,
            action,
            "connection",
            connection.id,
            name=connection.name,
            changed=list(self.plan.changed),
        )

    def _attempt(self, problems: list[str], part: str, work: Callable[[], object]) -> None:
        _attempt(problems, f"{self.where}.{part}", work)

    def _row(self, connector_ids: dict[str, int]) -> ErpConnection:
        existing = self.plan.existing
        connection = self.session.get(ErpConnection, existing.id) if existing else None
        if connection is None:
            connection = ErpConnection(
                uuid=self.prepared.uuid, name=self.spec.name, connector_id=connector_ids[self.spec.connector.lower()]
            )
            self.session.add(connection)
        connection.description = self.spec.description
        if self.plan.config_changed:
            connections.store_config(self.cipher, connection, self.plan.fields, self.plan.config)
        self.session.flush()
        if self.prepared.metadata is not None:
            connections.store_metadata(self.session, connection, self.prepared.metadata)
        return connection

    def _visibility(self) -> connection_visibility.Visibility:
        visibility = self.spec.visibility
        query = select(Group.id).where(func.lower(Group.name).in_([name.lower() for name in visibility.groups]))
        groups = list(self.session.scalars(query)) if visibility.groups else []
        return connection_visibility.Visibility(
            everyone=visibility.everyone,
            users=tuple(_user_ids(self.session, visibility.users)),
            groups=tuple(groups),
        )

    def _mapping(self, connection: ErpConnection, actor_type: m.ActorType, spec: ActorMappingSpec) -> None:
        erp_lists = self.prepared.erp_lists
        rows = tuple(
            FieldMapping(
                erp_field=row.erp,
                crm_field=row.crm,
                direction=row.direction,
                show_in_search=row.show_in_search,
                show_in_tab=row.show_in_tab,
                policy=row.policy,
            )
            for row in spec.fields
        )
        mapping = ActorTypeMapping(
            actor_type=actor_type,
            active=spec.active,
            fields=rows,
            erp_delete=spec.erp_delete,
            crm_delete=spec.crm_delete,
        )
        configuration.save_mapping(self.session, connection, mapping, erp_lists=erp_lists)
        configuration.save_ranks(self.session, connection, actor_type, [row.erp for row in spec.fields])
        defaults = {key: FieldDefault(value=d.value, ask_user=d.ask_user) for key, d in spec.defaults.items()}
        configuration.save_defaults(self.session, connection, actor_type, defaults, erp_lists=erp_lists)
        filter_config.store_filter(self.session, connection, actor_type, spec.filter)
        auto_config.store_auto_create(self.session, connection, actor_type, spec.auto_create)

    def _list_mappings(self, connection: ErpConnection) -> None:
        ids = _label_ids(self.session)
        list_mappings = {
            name: ListMapping(
                list_name=name,
                crm_list=spec.crm_list,
                items={
                    key: None if label is None else ids[spec.crm_list][label.lower()]
                    for key, label in spec.items.items()
                },
            )
            for name, spec in self.spec.list_mappings.items()
        }
        configuration.save_list_mappings(self.session, connection, list_mappings, erp_lists=self.prepared.erp_lists)


def _label_ids(session: Session) -> dict[CrmList, dict[str, int]]:
    """Label (lower case) -> item id per CRM list; a live item wins over a deleted one of the same label."""
    ids: dict[CrmList, dict[str, int]] = {crm_list: {} for crm_list in CrmList}
    for item in session.scalars(select(ListItem).order_by(ListItem.deleted.desc(), ListItem.id)):
        ids[CrmList(item.list_name)][item.label.lower()] = item.id
    return ids
