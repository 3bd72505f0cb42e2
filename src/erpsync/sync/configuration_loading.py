"""Reading a connection's sync configuration: the stored parts parsed into the ``mapping.ConnectionConfig`` the engine
syncs by, the connector's offered actor types and fields (the metadata cache), and the lists they use.

Parsed results are kept per configuration stamp and process (``sync.configuration_cache``) and shared, so never
changed in place. Saving and checking are ``sync.configuration``'s, which also offers these names.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.errors import ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.language import current as current_language
from erpsync.storage.tables import ErpConnection, SyncActorMapping, SyncConnectionPolicy, SyncListMapping
from erpsync.sync import mapping as rules
from erpsync.sync.configuration_cache import cache
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import (
    ActorTypeMapping,
    AutoCreate,
    ConnectionConfig,
    CrmDeletePolicy,
    ErpDeletePolicy,
    FieldDefault,
    FieldMapping,
    ListMapping,
    SyncFilter,
)
from erpsync.sync.merge import Policy
from erpsync.sync.metadata_languages import localized


def load_config(session: Session, connection: ErpConnection) -> ConnectionConfig:
    """The configuration the engine syncs ``connection`` by; defaults are *mandatory* where the connector says so.
    Parsed once per configuration stamp and process; shared, like every model of it, so never changed in place."""
    return cache.get(connection, "config", lambda: _parse_config(session, connection))


def _parse_config(session: Session, connection: ErpConnection) -> ConnectionConfig:
    actor_rows = _actor_rows(session, connection)
    policy = session.get(SyncConnectionPolicy, connection.id)
    offered = offered_fields(connection)
    return ConnectionConfig(
        mappings={m.ActorType(row.actor_type): mapping_from_row(row) for row in actor_rows},
        list_mappings={row.list_name: _list_mapping_of(row) for row in _list_rows(session, connection)},
        defaults={
            m.ActorType(row.actor_type): rules.effective_defaults(
                _defaults_of(row), offered.get(m.ActorType(row.actor_type), [])
            )
            for row in actor_rows
        },
        policy=Policy(policy.policy) if policy else Policy.NEWEST,
        no_blank_overwrite=policy.no_blank_overwrite if policy else False,
    )


def offered_fields(connection: ErpConnection) -> dict[m.ActorType, list[m.FieldMeta]]:
    """The actor types the connector last reported, with their fields (the connection's metadata cache); parsed once
    per configuration stamp and process (the ``FieldMeta`` are shared: never change them)."""
    language = current_language()  # labels in the user's language where the connector speaks it
    parsed = cache.get(connection, f"offered:{language or ''}", lambda: _parse_offered(connection, language))
    return {actor_type: list(fields) for actor_type, fields in parsed.items()}


def _parse_offered(connection: ErpConnection, language: str | None) -> dict[m.ActorType, tuple[m.FieldMeta, ...]]:
    return {
        m.ActorType(row.actor_type): tuple(localized(item, language) for item in row.fields_json)
        for row in connection.actor_fields
    }


def erp_fields_of(session: Session, connection: ErpConnection, actor_type: str) -> list[m.FieldMeta]:
    """The ERP fields of one actor type; none for a mapped type the connector stopped offering (all *missing*)."""
    parsed = _parse_actor_type(actor_type)
    offered = offered_fields(connection)
    if parsed in offered:
        return offered[parsed]
    if parsed is not None and session.get(SyncActorMapping, (connection.id, parsed.value)) is not None:
        return []
    raise NotFoundError(f"connection {connection.name!r} has no actor type {actor_type!r}")


def _parse_actor_type(name: str) -> m.ActorType | None:
    try:
        return m.ActorType(name)
    except ValueError:
        return None


def mapping_of(session: Session, connection: ErpConnection, actor_type: m.ActorType) -> ActorTypeMapping:
    row = session.get(SyncActorMapping, (connection.id, actor_type.value))
    return mapping_from_row(row) if row else ActorTypeMapping(actor_type=actor_type)


def erp_list_names(connection: ErpConnection) -> set[str]:
    """The lists the connection's ERP fields take their values from."""
    return list_names_of(offered_fields(connection))


def list_names_of(offered: Mapping[m.ActorType, Sequence[m.FieldMeta]]) -> set[str]:
    """The lists the ``offered`` ERP fields take their values from."""
    return {
        meta.list_name
        for fields in offered.values()
        for meta in fields
        if meta.type is m.FieldType.LIST and meta.list_name
    }


def mapped_list_names(config: ConnectionConfig, offered: Mapping[m.ActorType, Sequence[m.FieldMeta]]) -> set[str]:
    """The ERP lists of the list fields that sync in some actor type (switched on or not)."""
    names = set()
    for mapping in config.mappings.values():
        synced = {row.erp_field for row in mapping.fields if row.synced}
        fields = offered.get(mapping.actor_type, [])
        names |= {f.list_name for f in fields if f.type is m.FieldType.LIST and f.list_name and f.key in synced}
    return names


def list_mapping_names(config: ConnectionConfig, offered: Mapping[m.ActorType, Sequence[m.FieldMeta]]) -> set[str]:
    """The lists the *List mapping* screen shows: those of synced list fields, and those with a saved mapping."""
    return mapped_list_names(config, offered) | config.list_mappings.keys()


def read_erp_lists(
    clients: ConnectorClients, connection: ErpConnection, names: Collection[str]
) -> dict[str, list[m.ListItem]]:
    """The items of the named ERP lists, from the connector (call it with no write transaction open)."""
    client = clients.for_connector(connection.connector)
    try:
        return {name: client.list_items(connection_id=connection.uuid, list_name=name).items for name in sorted(names)}
    except ErpsyncError as exc:
        raise ValidationError(f"the connector did not answer with its list items: {exc.user_message}") from exc


def crm_list_items(session: Session) -> dict[CrmList, dict[int, str]]:
    """The items of every CRM list: id -> label."""
    return {name: {item.id: item.label for item in crm_lists.list_items(session, name)} for name in CrmList}


def _actor_rows(session: Session, connection: ErpConnection) -> list[SyncActorMapping]:
    query = select(SyncActorMapping).where(SyncActorMapping.connection_id == connection.id)
    return list(session.scalars(query.order_by(SyncActorMapping.actor_type)))


def _list_rows(session: Session, connection: ErpConnection) -> list[SyncListMapping]:
    query = select(SyncListMapping).where(SyncListMapping.connection_id == connection.id)
    return list(session.scalars(query.order_by(SyncListMapping.list_name)))


def mapping_from_row(row: SyncActorMapping) -> ActorTypeMapping:
    fields = sorted((FieldMapping.model_validate(item) for item in row.fields_json), key=by_rank)
    return ActorTypeMapping(
        actor_type=m.ActorType(row.actor_type),
        active=row.active,
        fields=tuple(fields),
        erp_delete=ErpDeletePolicy(row.erp_delete),
        crm_delete=CrmDeletePolicy(row.crm_delete),
        sync_filter=SyncFilter.model_validate(row.filter_json or {}),
        auto_create=AutoCreate.model_validate(row.auto_json or {}),
    )


def _defaults_of(row: SyncActorMapping) -> dict[str, FieldDefault]:
    return {key: FieldDefault.model_validate(value) for key, value in row.defaults_json.items()}


def _list_mapping_of(row: SyncListMapping) -> ListMapping:
    return ListMapping(list_name=row.list_name, crm_list=CrmList(row.crm_list), items=row.items_json)


def by_rank(row: FieldMapping) -> int:
    return row.rank
