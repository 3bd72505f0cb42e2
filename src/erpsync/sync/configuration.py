"""A connection's sync configuration (SPEC §4 *Configure* and *Active*): stored per part, checked as a whole.

``load_config(session, connection)`` gives the engine the ``mapping.ConnectionConfig`` it syncs by. Each save replaces
one part (an actor type's field mapping, the list mappings, an actor type's create defaults, the ranks, the conflict
policy, the sync priority) after checking it with the validators of ``sync.mapping``: a save that breaks a rule raises
a ``RefusedError`` listing every problem and writes nothing. On an active connection a save must also keep the
activation rules, so configuration can be edited while the connection runs; the engine's next cycle uses it.

The ERP's list items come from the connector: callers read them with ``read_erp_lists`` *before* they open the
write transaction of the save (on SQLite an open one blocks every other writer while the connector answers) and pass
them in. Saves consult them for list mappings and, on an active connection, for the activation rules; a list missing
from them counts as a list with no items, so a stale read can only refuse a save, never let a broken one through.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.errors import ConflictError, ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.language import current as current_language
from erpsync.storage.tables import ErpConnection, SyncActorMapping, SyncConnectionPolicy, SyncListMapping, new_stamp
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
    Problem,
    SyncFilter,
)
from erpsync.sync.merge import Policy
from erpsync.sync.metadata_languages import localized

ErpLists = Mapping[str, Sequence[m.ListItem]]
"""The items of ERP lists, by list name, as the connector reports them."""


class RefusedError(ErpsyncError):
    """A save or an activation refused; ``problems`` holds every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(describe(problem) for problem in problems))
        self.problems = tuple(problems)


class ConfigurationRefusedError(RefusedError, ValidationError):
    """A save that breaks a rule; nothing was written."""


class ActivationRefusedError(RefusedError, ConflictError):
    """The connection's configuration does not allow switching it on; it stays inactive."""


def describe(problem: Problem) -> str:
    where = ".".join(part for part in (problem.scope, problem.field) if part)
    return f"{where}: {problem.message}" if where else problem.message


def _refuse_if_any(problems: Iterable[Problem], error: type[RefusedError] = ConfigurationRefusedError) -> None:
    unique = list(dict.fromkeys(problems))  # the activation rules repeat the part's own checks
    if unique:
        raise error(unique)


# --- reading ----------------------------------------------------------------------------------------------------------


@contextmanager
def changing(connection: ErpConnection) -> Iterator[None]:
    """Around every change of the connection's sync configuration or metadata cache: a new ``config_stamp`` before it
    and another after it, so what this session derives halfway is cached under a stamp nobody else will see, and a
    rollback brings back the stamp of the configuration before it (``sync.configuration_cache``)."""
    connection.config_stamp = new_stamp()
    try:
        yield
    finally:
        connection.config_stamp = new_stamp()


def load_config(session: Session, connection: ErpConnection) -> ConnectionConfig:
    """The configuration the engine syncs ``connection`` by; defaults are *mandatory* where the connector says so.
    Parsed once per configuration stamp and process; shared, like every model of it, so never changed in place."""
    return cache.get(connection, "config", lambda: _parse_config(session, connection))


def _parse_config(session: Session, connection: ErpConnection) -> ConnectionConfig:
    actor_rows = _actor_rows(session, connection)
    policy = session.get(SyncConnectionPolicy, connection.id)
    offered = offered_fields(connection)
    return ConnectionConfig(
        mappings={m.ActorType(row.actor_type): _mapping_of(row) for row in actor_rows},
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
    return _mapping_of(row) if row else ActorTypeMapping(actor_type=actor_type)


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


def _mapping_of(row: SyncActorMapping) -> ActorTypeMapping:
    fields = sorted((FieldMapping.model_validate(item) for item in row.fields_json), key=_by_rank)
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


# --- checking ---------------------------------------------------------------------------------------------------------

Change = Callable[[ConnectionConfig], ConnectionConfig]


def _check(
    session: Session, connection: ErpConnection, *, change: Change, problems: list[Problem], erp_lists: ErpLists
) -> None:
    """Refuse a part with ``problems``, or whose ``change`` breaks the activation rules of an active connection."""
    if connection.active:
        problems = problems + activation_problems(
            session, connection, change(load_config(session, connection)), erp_lists
        )
    _refuse_if_any(problems)


def activation_problems(
    session: Session, connection: ErpConnection, config: ConnectionConfig, erp_lists: ErpLists
) -> list[Problem]:
    """Every reason ``config`` cannot run (SPEC §4 *Active*)."""
    problems = []
    if not any(mapping.active for mapping in config.mappings.values()):
        problems.append(Problem("", "no actor type is switched on: switch on the mapping of at least one"))
    return problems + rules.validate_activation(
        config,
        erp_fields_by_type=offered_fields(connection),
        erp_list_keys={name: [item.key for item in items] for name, items in erp_lists.items()},
        crm_list_items=crm_list_items(session),
    )


# --- saving -----------------------------------------------------------------------------------------------------------


def save_mapping(
    session: Session, connection: ErpConnection, mapping: ActorTypeMapping, *, erp_lists: ErpLists
) -> ActorTypeMapping:
    """Replace the field mapping of one actor type; rows keep their rank, new rows take the ERP field's; the sync
    filter and automatic creation stay as stored (``sync.filter_config`` and ``sync.auto_config`` save them)."""
    erp_fields = erp_fields_of(session, connection, mapping.actor_type)
    stored = mapping_of(session, connection, mapping.actor_type)
    kept = {"sync_filter": stored.sync_filter, "auto_create": stored.auto_create}
    ranked = _ranked(mapping, stored, erp_fields).model_copy(update=kept)
    _check(
        session,
        connection,
        change=lambda config: config.model_copy(update={"mappings": {**config.mappings, ranked.actor_type: ranked}}),
        problems=rules.validate_mapping(ranked, erp_fields=erp_fields),
        erp_lists=erp_lists,
    )
    with changing(connection):
        row = actor_row(session, connection, mapping.actor_type)
        row.active = ranked.active
        row.fields_json = [field.model_dump(mode="json") for field in ranked.fields]
        row.erp_delete, row.crm_delete = ranked.erp_delete.value, ranked.crm_delete.value
        session.flush()
    return ranked


def _ranked(mapping: ActorTypeMapping, stored: ActorTypeMapping, erp_fields: Sequence[m.FieldMeta]) -> ActorTypeMapping:
    ranks = {meta.key: meta.rank for meta in erp_fields} | {row.erp_field: row.rank for row in stored.fields}
    fields = [row.model_copy(update={"rank": ranks.get(row.erp_field, 0)}) for row in mapping.fields]
    return mapping.model_copy(update={"fields": tuple(sorted(fields, key=_by_rank))})


def actor_row(session: Session, connection: ErpConnection, actor_type: m.ActorType) -> SyncActorMapping:
    row = session.get(SyncActorMapping, (connection.id, actor_type.value))
    if row is None:
        row = SyncActorMapping(
            connection_id=connection.id,
            actor_type=actor_type.value,
            active=False,
            fields_json=[],
            defaults_json={},
            filter_json={},
            auto_json={},
        )
        row.erp_delete, row.crm_delete = ErpDeletePolicy.KEEP, CrmDeletePolicy.UNLINK
        session.add(row)
    return row


def save_list_mappings(
    session: Session, connection: ErpConnection, list_mappings: Mapping[str, ListMapping], *, erp_lists: ErpLists
) -> None:
    """Replace every list mapping of the connection (a list left out is no longer mapped)."""
    known, crm_items = erp_list_names(connection), crm_list_items(session)
    _check(
        session,
        connection,
        change=lambda config: config.model_copy(update={"list_mappings": dict(list_mappings)}),
        problems=[p for lm in list_mappings.values() for p in _list_problems(lm, known, erp_lists, crm_items)],
        erp_lists=erp_lists,
    )
    with changing(connection):
        session.execute(delete(SyncListMapping).where(SyncListMapping.connection_id == connection.id))
        session.add_all(
            SyncListMapping(
                connection_id=connection.id, list_name=name, crm_list=lm.crm_list.value, items_json=lm.items
            )
            for name, lm in sorted(list_mappings.items())
        )
        session.flush()


def _list_problems(
    list_mapping: ListMapping, known: Collection[str], erp_lists: ErpLists, crm_items: Mapping[CrmList, Collection[int]]
) -> list[Problem]:
    name = list_mapping.list_name
    if name not in known:
        return [Problem("", f"no ERP field of this connection takes its values from a list named {name!r}", name)]
    erp_keys = [item.key for item in erp_lists.get(name, [])]
    return rules.validate_list_mapping(list_mapping, erp_keys=erp_keys, crm_items=crm_items[list_mapping.crm_list])


def save_defaults(
    session: Session,
    connection: ErpConnection,
    actor_type: m.ActorType,
    defaults: Mapping[str, FieldDefault],
    *,
    erp_lists: ErpLists,
) -> None:
    """Replace the create defaults of one actor type; *mandatory* is forced on where the connector says so."""
    erp_fields = erp_fields_of(session, connection, actor_type)
    effective = rules.effective_defaults(defaults, erp_fields)
    fed = rules.fed_from_crm(mapping_of(session, connection, actor_type))
    problems = rules.validate_defaults(effective, erp_fields=erp_fields, fed=fed) + _secret_problems(
        defaults, erp_fields
    )
    _check(
        session,
        connection,
        change=lambda config: config.model_copy(update={"defaults": {**config.defaults, actor_type: effective}}),
        problems=[Problem(p.field, p.message, actor_type.value) for p in problems],
        erp_lists=erp_lists,
    )
    with changing(connection):
        row = actor_row(session, connection, actor_type)
        row.defaults_json = {key: default.model_dump(mode="json") for key, default in defaults.items()}
        session.flush()


def _secret_problems(defaults: Mapping[str, FieldDefault], erp_fields: Sequence[m.FieldMeta]) -> list[Problem]:
    # Defaults are stored as plain configuration and shown to administrators: no place for a password.
    secret = {meta.key for meta in erp_fields if meta.type is m.FieldType.PASSWORD}
    return [Problem(key, "a password field cannot have a stored default") for key in defaults if key in secret]


def save_ranks(session: Session, connection: ErpConnection, actor_type: m.ActorType, order: Sequence[str]) -> None:
    """Order the rows of one actor type's mapping (the ERP tab's field order); ``order`` names every row once."""
    erp_fields_of(session, connection, actor_type)
    mapping = mapping_of(session, connection, actor_type)
    _refuse_if_any(
        Problem(p.field, p.message, actor_type.value)
        for p in _permutation_problems(order, [row.erp_field for row in mapping.fields], "ERP field")
    )
    rank = {key: index for index, key in enumerate(order)}
    fields = sorted((row.model_copy(update={"rank": rank[row.erp_field]}) for row in mapping.fields), key=_by_rank)
    with changing(connection):
        actor_row(session, connection, actor_type).fields_json = [field.model_dump(mode="json") for field in fields]
        session.flush()


def _by_rank(row: FieldMapping) -> int:
    return row.rank


def _permutation_problems(given: Sequence[str], expected: Sequence[str], what: str) -> list[Problem]:
    counts = Counter(given)
    problems = [Problem(key, f"unknown {what} {key!r}") for key in counts if key not in expected]
    problems += [Problem(key, f"{what} {key!r} is named {n} times") for key, n in counts.items() if n > 1]
    return problems + [
        Problem(key, f"{what} {key!r} is missing from the order") for key in expected if key not in counts
    ]


def save_policy(session: Session, connection: ErpConnection, *, policy: Policy, no_blank_overwrite: bool) -> None:
    """The conflict policy of the connection (rows of a mapping may override it) and the blank option."""
    with changing(connection):
        row = session.get(SyncConnectionPolicy, connection.id)
        if row is None:
            row = SyncConnectionPolicy(connection_id=connection.id)
            session.add(row)
        row.policy = policy.value
        row.no_blank_overwrite = no_blank_overwrite
        session.flush()


def set_priority(session: Session, ordered_ids: Sequence[int]) -> None:
    """The order the engine serves connections in; ``ordered_ids`` names every live connection exactly once."""
    live = {c.id: c for c in session.scalars(select(ErpConnection).where(ErpConnection.deleted_at.is_(None)))}
    given = [str(connection_id) for connection_id in ordered_ids]
    _refuse_if_any(_permutation_problems(given, [str(key) for key in sorted(live)], "connection"))
    for priority, connection_id in enumerate(ordered_ids):
        live[connection_id].priority = priority
    session.flush()


def priority_order(session: Session) -> list[ErpConnection]:
    query = select(ErpConnection).where(ErpConnection.deleted_at.is_(None))
    return list(session.scalars(query.order_by(ErpConnection.priority, ErpConnection.id)))


# --- auto-mapping -----------------------------------------------------------------------------------------------------


def auto_map_connection(session: Session, connection: ErpConnection) -> None:
    """Map each newly offered actor type by matching keys (no direction, switched off); add a row for each new ERP
    field of a mapped type. Fields the connector stopped reporting keep their rows, shown *missing in ERP*."""
    with changing(connection):
        for actor_type, erp_fields in offered_fields(connection).items():
            row = actor_row(session, connection, actor_type)
            known = _mapping_of(row)
            added = _new_rows(known, erp_fields)
            if added:
                row.fields_json = [field.model_dump(mode="json") for field in (*known.fields, *added)]
        session.flush()


def _new_rows(mapping: ActorTypeMapping, erp_fields: Sequence[m.FieldMeta]) -> list[FieldMapping]:
    present = {row.erp_field for row in mapping.fields}
    taken = {row.crm_field for row in mapping.fields if row.crm_field}
    auto = rules.auto_map(erp_fields, rules.ENTITY_FOR_ACTOR[mapping.actor_type])
    return [
        row if row.crm_field not in taken else row.model_copy(update={"crm_field": None})
        for row in auto
        if row.erp_field not in present
    ]


# --- activation -------------------------------------------------------------------------------------------------------


def activate(session: Session, connection: ErpConnection, *, erp_lists: ErpLists) -> None:
    """Switch the connection on if its configuration can run; ``ActivationRefusedError`` lists every reason."""
    if connection.deleted_at is not None:
        raise ConflictError(f"connection {connection.name!r} is deleted: restore it first")
    problems = activation_problems(session, connection, load_config(session, connection), erp_lists)
    _refuse_if_any(problems, ActivationRefusedError)
    connection.active = True
    session.flush()


def deactivate(session: Session, connection: ErpConnection) -> None:
    connection.active = False
    session.flush()
