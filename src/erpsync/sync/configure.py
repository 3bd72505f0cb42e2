"""Changing a connection's sync configuration (SPEC §4 *Configure*, *Active*): the use cases the API and the web UI
call alike.

Each save is one unit of work in the caller's session with its audit entry, kept whole or not at all; a save that
breaks a rule raises ``configuration.RefusedError`` with every reason and changes nothing. When a save needs the ERP's
list items, the transaction of the reads so far is ended before the connector is asked (``erp_lists``): on SQLite an
open one would block every other writer while the connector answers. ``by`` is the administrator acting.

Public names: ``erp_lists``, ``save_mapping``, ``save_list_mappings``, ``save_defaults``, ``save_ranks``,
``save_policy``, ``set_priority``, ``activate``, ``deactivate``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from erpsync import audit
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection
from erpsync.storage.unit_of_work import end_transaction, unit_of_work
from erpsync.sync import configuration, configuration_loading, list_pairing
from erpsync.sync.configuration import ErpLists
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import ActorTypeMapping, FieldDefault, ListMapping
from erpsync.sync.merge import Policy


def erp_lists(
    session: Session, clients: ConnectorClients, connection: ErpConnection, names: Collection[str]
) -> ErpLists:
    """The items of the ERP lists ``names``, asked with the session's transaction ended first."""
    if not names:
        return {}
    end_transaction(session)
    return configuration_loading.read_erp_lists(clients, connection, names)


def _lists_if_active(session: Session, clients: ConnectorClients, connection: ErpConnection) -> ErpLists:
    """An active connection's saves are checked against the ERP's list items; an inactive one's are not yet."""
    names = configuration_loading.erp_list_names(connection) if connection.active else set()
    return erp_lists(session, clients, connection, names)


def _audit(session: Session, by: int | None, connection: ErpConnection, action: str, detail: Mapping[str, Any]) -> None:
    detail = {**detail} | audit.via(by)
    audit.record(session, user_id=by, action=action, target_type="connection", target_id=connection.id, detail=detail)


def save_mapping(
    session: Session, clients: ConnectorClients, connection: ErpConnection, mapping: ActorTypeMapping, *, by: int | None
) -> ActorTypeMapping:
    """Replace the field mapping of one actor type; the mapping as saved (rows keep their rank). A country list it
    starts to sync is paired with the CRM's countries by ISO code in the same unit of work (``list_pairing``)."""
    with unit_of_work(session):
        wanted = list_pairing.lists_to_pair(session, connection, mapping)
        names = (
            set(wanted) | set(configuration_loading.load_config(session, connection).list_mappings) if wanted else set()
        )
        if connection.active:
            names |= configuration_loading.erp_list_names(connection)
        lists = erp_lists(session, clients, connection, names)
        paired = list_pairing.pair_lists(session, connection, wanted, erp_lists=lists)
        saved = configuration.save_mapping(session, connection, mapping, erp_lists=lists)
        detail = {"actor_type": mapping.actor_type.value, **mapping.model_dump(mode="json", exclude={"actor_type"})}
        _audit(session, by, connection, "update_mapping", detail | ({"lists_paired_by_code": paired} if paired else {}))
    return saved


def save_list_mappings(
    session: Session,
    clients: ConnectorClients,
    connection: ErpConnection,
    list_mappings: Mapping[str, ListMapping],
    *,
    by: int | None,
    known_erp_lists: ErpLists | None = None,
) -> None:
    """Replace every list mapping of the connection; ``known_erp_lists``: the ERP's items as just read, else they are
    asked for."""
    with unit_of_work(session):
        if known_erp_lists is None:
            known_erp_lists = erp_lists(session, clients, connection, configuration_loading.erp_list_names(connection))
        configuration.save_list_mappings(session, connection, list_mappings, erp_lists=known_erp_lists)
        detail = {"lists": {name: mapped.model_dump(mode="json") for name, mapped in list_mappings.items()}}
        _audit(session, by, connection, "update_list_mappings", detail)


def save_defaults(
    session: Session,
    clients: ConnectorClients,
    connection: ErpConnection,
    actor_type: m.ActorType,
    defaults: Mapping[str, FieldDefault],
    *,
    by: int | None,
) -> None:
    with unit_of_work(session):
        configuration.save_defaults(
            session, connection, actor_type, defaults, erp_lists=_lists_if_active(session, clients, connection)
        )
        detail = {
            "actor_type": actor_type.value,
            "defaults": {k: d.model_dump(mode="json") for k, d in defaults.items()},
        }
        _audit(session, by, connection, "update_defaults", detail)


def save_ranks(
    session: Session, connection: ErpConnection, actor_type: m.ActorType, order: Sequence[str], *, by: int | None
) -> None:
    with unit_of_work(session):
        configuration.save_ranks(session, connection, actor_type, order)
        _audit(session, by, connection, "update_ranks", {"actor_type": actor_type.value, "order": list(order)})


def save_policy(
    session: Session, connection: ErpConnection, *, policy: Policy, no_blank_overwrite: bool, by: int | None
) -> None:
    with unit_of_work(session):
        configuration.save_policy(session, connection, policy=policy, no_blank_overwrite=no_blank_overwrite)
        detail = {"policy": policy.value, "no_blank_overwrite": no_blank_overwrite}
        _audit(session, by, connection, "update_policy", detail)


def set_priority(session: Session, connection_ids: Sequence[int], *, by: int | None) -> None:
    """The order the engine serves connections in; ``connection_ids`` names every live connection exactly once."""
    with unit_of_work(session):
        configuration.set_priority(session, connection_ids)
        detail: dict[str, object] = {"connection_ids": list(connection_ids)}
        detail |= audit.via(by)
        audit.record(session, user_id=by, action="update", target_type="sync_priority", target_id=None, detail=detail)


def activate(session: Session, clients: ConnectorClients, connection: ErpConnection, *, by: int | None) -> None:
    """Switch the connection on; ``ActivationRefusedError`` with every reason when its configuration cannot run."""
    with unit_of_work(session):
        names = configuration_loading.erp_list_names(connection)
        configuration.activate(session, connection, erp_lists=erp_lists(session, clients, connection, names))
        _audit(session, by, connection, "activate", {})


def deactivate(session: Session, connection: ErpConnection, *, by: int | None) -> None:
    with unit_of_work(session):
        configuration.deactivate(session, connection)
        _audit(session, by, connection, "deactivate", {})
