"""A connection's sync configuration (SPEC §4 *Configure* and *Active*): stored per part, checked as a whole.

``load_config(session, connection)`` gives the engine the ``mapping.ConnectionConfig`` it syncs by (the reading and
parsing live in ``sync.configuration_loading``; this module offers its names too). Each save replaces one part (an
actor type's field mapping, the list mappings, an actor type's create defaults, the ranks, the conflict policy, the
sync priority) after checking it with the validators of ``sync.mapping``: a save that breaks a rule raises
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

from erpsync.crm.fields import CrmList
from erpsync.errors import ConflictError, ErpsyncError, ValidationError
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, SyncActorMapping, SyncConnectionPolicy, SyncListMapping, new_stamp
from erpsync.sync import mapping as rules
from erpsync.sync.configuration_loading import (
    by_rank,
    crm_list_items,
    erp_fields_of,
    erp_list_names,
    load_config,
    mapping_from_row,
    mapping_of,
    offered_fields,
)
from erpsync.sync.mapping import (
    ActorTypeMapping,
    ConnectionConfig,
    CrmDeletePolicy,
    ErpDeletePolicy,
    FieldDefault,
    FieldMapping,
    ListMapping,
    Problem,
)
from erpsync.sync.merge import Policy

__all__ = [
    "ActivationRefusedError",
    "Change",
    "ConfigurationRefusedError",
    "ErpLists",
    "RefusedError",
    "activate",
    "activation_problems",
    "actor_row",
    "auto_map_connection",
    "changing",
    "deactivate",
    "describe",
    "priority_order",
    "save_defaults",
    "save_list_mappings",
    "save_mapping",
    "save_policy",
    "save_ranks",
    "set_priority",
]
"""The use cases and rules of this module (a configuration is read by ``configuration_loading``)."""

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


# --- changing ---------------------------------------------------------------------------------------------------------


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
    return mapping.model_copy(update={"fields": tuple(sorted(fields, key=by_rank))})


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
    fields = sorted((row.model_copy(update={"rank": rank[row.erp_field]}) for row in mapping.fields), key=by_rank)
    with changing(connection):
        actor_row(session, connection, actor_type).fields_json = [field.model_dump(mode="json") for field in fields]
        session.flush()


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
            known = mapping_from_row(row)
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
