"""A connection's sync configuration from the command line (``sync.configure``'s use cases): ``erpsync connections
activate|deactivate``, ``mappings show|set|auto``, ``list-mappings show|set``, ``defaults show|set``, ``ranks
show|set``, ``policy show|set`` and ``priority show|set``.

Every ``show --json`` prints what the API's ``GET`` answers; every ``set`` takes the API's ``PUT`` body from a file or
standard input, and also what ``show --json`` printed, so ``erpsync mappings show Main customer --json | erpsync
mappings set Main customer`` round-trips. A save that breaks a rule is refused with every reason and changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer
from sqlalchemy.orm import Session

from erpsync.api.configuration_schemas import (
    DefaultsBody,
    DeletePreviewPublic,
    FieldRowBody,
    ListMappingBody,
    ListMappingsBody,
    MappingBody,
    PolicyBody,
    PriorityBody,
    PriorityPublic,
    RanksBody,
    priority_public,
)
from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.cli.connections import connections_app
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.storage.tables import ErpConnection
from erpsync.sync import configuration, configuration_loading, configure, deletes
from erpsync.sync import mapping as mapping_rules
from erpsync.sync.configuration_views import (
    DefaultsView,
    FieldRowView,
    ListMappingsView,
    ListMappingView,
    MappingView,
    RanksView,
    defaults_view,
    list_mappings_view,
    mapping_view,
    ranks_view,
)
from erpsync.sync.connectors import ConnectorClients
from erpsync.sync.mapping import ErpDeletePolicy
from erpsync.sync.merge import Direction

mappings_app = typer.Typer(help="Field mappings of a connection, per actor type.", no_args_is_help=True)
list_mappings_app = typer.Typer(help="How a connection pairs ERP list items with CRM list items.", no_args_is_help=True)
defaults_app = typer.Typer(help="Values a connection sends when it creates an actor in the ERP.", no_args_is_help=True)
ranks_app = typer.Typer(help="The order a connection shows its ERP fields in.", no_args_is_help=True)
policy_app = typer.Typer(help="A connection's conflict policy.", no_args_is_help=True)
priority_app = typer.Typer(help="The order the engine serves connections in.", no_args_is_help=True)
app.add_typer(mappings_app, name="mappings")
app.add_typer(list_mappings_app, name="list-mappings")
app.add_typer(defaults_app, name="defaults")
app.add_typer(ranks_app, name="ranks")
app.add_typer(policy_app, name="policy")
app.add_typer(priority_app, name="priority")

CONNECTION = typer.Argument(help="the connection's name")
ACTOR_TYPE = typer.Argument(help="customer, supplier, partner, person or project")


# --- activation -------------------------------------------------------------------------------------------------------


@connections_app.command("activate")
def connections_activate(name: str = CONNECTION) -> None:
    """Switch a connection on; refused with every reason when its configuration cannot run."""
    with common.configuring(name, write=True) as (session, clients, connection):
        configure.activate(session, clients, connection, by=None)
    typer.echo(f"connection {name} active")


@connections_app.command("deactivate")
def connections_deactivate(name: str = CONNECTION) -> None:
    """Switch a connection off: the engine no longer syncs it; its configuration and links stay."""
    with common.configuring(name, write=True) as (session, _clients, connection):
        configure.deactivate(session, connection, by=None)
    typer.echo(f"connection {name} inactive")


# --- field mappings ---------------------------------------------------------------------------------------------------


def _show_mapping(view: MappingView, as_json: bool) -> None:
    if as_json:
        output.print_json(view)
        return
    rows = (
        (r.erp_field, r.label, r.crm_field, r.direction.value, r.policy, "missing in ERP" if r.missing_in_erp else "")
        for r in view.fields
    )
    title = f"{view.actor_type.value} -> {view.entity} ({'on' if view.active else 'off'})"
    output.print_table(title, ("ERP field", "label", "CRM field", "direction", "policy", ""), rows)
    typer.echo(f"ERP deletion: {view.erp_delete.value}; CRM deletion: {view.crm_delete.value}")


def _mapping_body(data: Any) -> MappingBody:
    """The API's body, or what ``show --json`` printed (each row's view-only keys dropped)."""
    if isinstance(data, dict) and isinstance(data.get("fields"), list):
        extra = set(FieldRowView.model_fields) - set(FieldRowBody.model_fields)
        rows = [output.without_keys(row, extra) if isinstance(row, dict) else row for row in data["fields"]]
        data = {**data, "fields": rows}
    return output.parse_body(MappingBody, data, view=MappingView)


@mappings_app.command("show")
def mappings_show(name: str = CONNECTION, actor_type: str = ACTOR_TYPE, as_json: bool = output.JSON_OPTION) -> None:
    """The field mapping of one actor type: each ERP field, the CRM field it pairs with and which way it flows."""
    with common.configuring(name) as (session, _clients, connection):
        parsed, erp_fields = common.actor_type_in(session, connection, actor_type)
        view = mapping_view(configuration_loading.mapping_of(session, connection, parsed), erp_fields)
    _show_mapping(view, as_json)


@mappings_app.command("set")
def mappings_set(
    name: str = CONNECTION,
    actor_type: str = ACTOR_TYPE,
    body: str = output.BODY_ARGUMENT,
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Replace the field mapping of one actor type: {"active": bool, "fields": [{erp_field, crm_field, direction,
    show_in_search, show_in_tab, policy}]}."""
    with common.configuring(name, write=True) as (session, clients, connection):
        parsed, erp_fields = common.actor_type_in(session, connection, actor_type)
        mapping = _mapping_body(output.read_body(body)).to_mapping(parsed)
        saved = configure.save_mapping(session, clients, connection, mapping, by=None)
    _show_mapping(mapping_view(saved, erp_fields), as_json)


@mappings_app.command("delete-preview")
def mappings_delete_preview(
    name: str = CONNECTION,
    actor_type: str = ACTOR_TYPE,
    erp_delete: ErpDeletePolicy = typer.Option(ErpDeletePolicy.DELETE, help="the ERP-deletion policy to preview"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """What an ERP-deletion policy would do to today's broken links of one actor type, before it is set; writes
    nothing."""
    with common.configuring(name) as (session, _clients, connection):
        parsed, _ = common.actor_type_in(session, connection, actor_type)
        found = deletes.preview(session, connection.id, parsed, erp_delete)
    preview = DeletePreviewPublic(erp_delete=erp_delete, **asdict(found))
    if as_json:
        output.print_json(preview)
        return
    typer.echo(
        f"{preview.broken} broken links (ERP record deleted or missing); under {erp_delete.value}: "
        f"{preview.deleted} CRM records deleted, {preview.deactivated} deactivated"
    )


@mappings_app.command("auto")
def mappings_auto(
    name: str = CONNECTION,
    actor_type: str = ACTOR_TYPE,
    direction: Direction = typer.Option(
        Direction.NONE, help="give the paired rows without a direction this one (read-only ERP fields: to_crm)"
    ),
    switch_on: bool = typer.Option(False, "--on", help="also switch the actor type's sync on"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Pair each ERP field without a CRM field by key or an obvious synonym, and save; rows already paired stay."""
    with common.configuring(name, write=True) as (session, clients, connection):
        parsed, erp_fields = common.actor_type_in(session, connection, actor_type)
        mapping = mapping_rules.auto_completed(
            configuration_loading.mapping_of(session, connection, parsed), erp_fields, direction=direction
        )
        if switch_on:
            mapping = mapping.model_copy(update={"active": True})
        saved = configure.save_mapping(session, clients, connection, mapping, by=None)
    _show_mapping(mapping_view(saved, erp_fields), as_json)


# --- list mappings ----------------------------------------------------------------------------------------------------


def _list_mappings(session: Session, clients: ConnectorClients, connection: ErpConnection) -> ListMappingsView:
    """Per ERP list of a synced list field (or with a saved mapping): the pairs, the ERP items and the CRM items."""
    config = configuration_loading.load_config(session, connection)
    offered = configuration_loading.offered_fields(connection)
    crm_items = {list_name: crm_lists.list_items(session, list_name) for list_name in CrmList}
    erp_lists = configure.erp_lists(session, clients, connection, configuration_loading.erp_list_names(connection))
    return list_mappings_view(config, offered, erp_lists=erp_lists, crm_items=crm_items)


def _show_list_mappings(view: ListMappingsView, as_json: bool) -> None:
    if as_json:
        output.print_json(view)
        return
    for list_name, mapped in view.lists.items():
        crm_labels = {item.id: item.label for item in mapped.crm_items}
        rows = (
            (item.key, item.label, crm_labels.get(mapped.items.get(item.key) or 0, "-")) for item in mapped.erp_items
        )
        title = f"{list_name} -> {mapped.crm_list or '?'}{'' if mapped.saved else ' (not saved)'}"
        output.print_table(title, ("ERP item", "label", "CRM item"), rows)


def _list_mappings_body(data: Any) -> ListMappingsBody:
    """The API's body, or what ``show --json`` printed: the view-only keys dropped, and the lists not saved yet that
    say nothing (no CRM list or no pairs) left out, so a round trip changes nothing."""
    if isinstance(data, dict) and isinstance(data.get("lists"), dict):
        extra = set(ListMappingView.model_fields) - set(ListMappingBody.model_fields)
        lists = {
            list_name: output.without_keys(entry, extra) if isinstance(entry, dict) else entry
            for list_name, entry in data["lists"].items()
            if not (isinstance(entry, dict) and entry.get("saved") is False and not entry.get("items"))
        }
        data = {**data, "lists": lists}
    return output.parse_body(ListMappingsBody, data)


@list_mappings_app.command("show")
def list_mappings_show(name: str = CONNECTION, as_json: bool = output.JSON_OPTION) -> None:
    """Each ERP list a synced field uses: its items and the CRM list items they pair with (the ERP is asked)."""
    with common.configuring(name) as (session, clients, connection):
        view = _list_mappings(session, clients, connection)
    _show_list_mappings(view, as_json)


@list_mappings_app.command("set")
def list_mappings_set(
    name: str = CONNECTION, body: str = output.BODY_ARGUMENT, as_json: bool = output.JSON_OPTION
) -> None:
    """Replace every list mapping: {"lists": {ERP list: {"crm_list": ..., "items": {ERP key: CRM item id or null}}}}."""
    with common.configuring(name, write=True) as (session, clients, connection):
        data = output.read_body(body)
        configure.save_list_mappings(
            session, clients, connection, _list_mappings_body(data).to_list_mappings(), by=None
        )
        view = _list_mappings(session, clients, connection)
    _show_list_mappings(view, as_json)


# --- defaults ---------------------------------------------------------------------------------------------------------


def _defaults(session: Session, connection: ErpConnection, actor_type: str) -> DefaultsView:
    parsed, erp_fields = common.actor_type_in(session, connection, actor_type)
    defaults = configuration_loading.load_config(session, connection).defaults.get(parsed, {})
    return defaults_view(parsed, defaults, erp_fields)


def _show_defaults(view: DefaultsView, as_json: bool) -> None:
    if as_json:
        output.print_json(view)
        return
    rows = ((meta.key, meta.label, *_default_cells(view.defaults.get(meta.key))) for meta in view.fields)
    output.print_table(
        f"{view.actor_type.value}: create defaults", ("ERP field", "label", "value", "ask", "mandatory"), rows
    )


def _default_cells(default: Any) -> tuple[object, object, object]:
    if default is None:
        return None, None, None
    return default.value, "yes" if default.ask_user else "", "yes" if default.mandatory else ""


@defaults_app.command("show")
def defaults_show(name: str = CONNECTION, actor_type: str = ACTOR_TYPE, as_json: bool = output.JSON_OPTION) -> None:
    """The values sent when an actor of this type is created in the ERP, and the fields that can take one."""
    with common.configuring(name) as (session, _clients, connection):
        view = _defaults(session, connection, actor_type)
    _show_defaults(view, as_json)


@defaults_app.command("set")
def defaults_set(
    name: str = CONNECTION,
    actor_type: str = ACTOR_TYPE,
    body: str = output.BODY_ARGUMENT,
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Replace the create defaults: {"defaults": {ERP field: {"value": ..., "ask_user": bool, "mandatory": bool}}}."""
    with common.configuring(name, write=True) as (session, clients, connection):
        data = output.read_body(body)
        parsed, _erp_fields = common.actor_type_in(session, connection, actor_type)
        defaults = output.parse_body(DefaultsBody, data, view=DefaultsView).defaults
        configure.save_defaults(session, clients, connection, parsed, defaults, by=None)
        view = _defaults(session, connection, actor_type)
    _show_defaults(view, as_json)


# --- ranks ------------------------------------------------------------------------------------------------------------


def _ranks(session: Session, connection: ErpConnection, actor_type: str) -> RanksView:
    parsed, erp_fields = common.actor_type_in(session, connection, actor_type)
    return ranks_view(configuration_loading.mapping_of(session, connection, parsed), erp_fields)


def _show_ranks(view: RanksView, as_json: bool) -> None:
    if as_json:
        output.print_json(view)
    else:
        output.print_table(
            "ranks", ("#", "ERP field", "label"), ((i, k, view.labels[k]) for i, k in enumerate(view.order, 1))
        )


@ranks_app.command("show")
def ranks_show(name: str = CONNECTION, actor_type: str = ACTOR_TYPE, as_json: bool = output.JSON_OPTION) -> None:
    """The ERP fields of the mapping in the order they are shown, first first."""
    with common.configuring(name) as (session, _clients, connection):
        view = _ranks(session, connection, actor_type)
    _show_ranks(view, as_json)


@ranks_app.command("set")
def ranks_set(
    name: str = CONNECTION,
    actor_type: str = ACTOR_TYPE,
    body: str = output.BODY_ARGUMENT,
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Put the ERP fields in a new order: {"order": [every ERP field of the mapping]}."""
    with common.configuring(name, write=True) as (session, _clients, connection):
        data = output.read_body(body)
        parsed, _erp_fields = common.actor_type_in(session, connection, actor_type)
        order = output.parse_body(RanksBody, data, view=RanksView).order
        configure.save_ranks(session, connection, parsed, order, by=None)
        view = _ranks(session, connection, actor_type)
    _show_ranks(view, as_json)


# --- conflict policy --------------------------------------------------------------------------------------------------


def _show_policy(policy: PolicyBody, as_json: bool) -> None:
    if as_json:
        output.print_json(policy)
    else:
        output.print_fields("conflict policy", policy.model_dump(mode="json"))


@policy_app.command("show")
def policy_show(name: str = CONNECTION, as_json: bool = output.JSON_OPTION) -> None:
    """Who wins a conflict (newest, crm, erp, or ask: a person decides) and whether a blank value may overwrite a
    filled one."""
    with common.configuring(name) as (session, _clients, connection):
        config = configuration_loading.load_config(session, connection)
    _show_policy(PolicyBody(policy=config.policy, no_blank_overwrite=config.no_blank_overwrite), as_json)


@policy_app.command("set")
def policy_set(name: str = CONNECTION, body: str = output.BODY_ARGUMENT, as_json: bool = output.JSON_OPTION) -> None:
    """Set the conflict policy: {"policy": "newest" | "crm" | "erp" | "ask", "no_blank_overwrite": bool}."""
    with common.configuring(name, write=True) as (session, _clients, connection):
        data = output.read_body(body)
        policy = output.parse_body(PolicyBody, data)
        configure.save_policy(
            session, connection, policy=policy.policy, no_blank_overwrite=policy.no_blank_overwrite, by=None
        )
    _show_policy(policy, as_json)


# --- sync priority ----------------------------------------------------------------------------------------------------


def _show_priority(priority: PriorityPublic, as_json: bool) -> None:
    if as_json:
        output.print_json(priority)
        return
    rows = ((i, c.id, c.name, "active" if c.active else "inactive") for i, c in enumerate(priority.connections, 1))
    output.print_table("sync priority", ("#", "id", "connection", "state"), rows)


@priority_app.command("show")
def priority_show(as_json: bool = output.JSON_OPTION) -> None:
    """Every live connection, in the order the engine serves them."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        priority = priority_public(configuration.priority_order(session))
    _show_priority(priority, as_json)


@priority_app.command("set")
def priority_set(
    body: str = typer.Argument(None, help="JSON file or - in the API's shape; or give the names with --connection"),
    connection: list[str] = typer.Option([], help="a connection's name, served first first (repeatable)"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Set the order the engine serves connections in: every live connection exactly once."""
    if (body is None) == (not connection):
        raise typer.BadParameter("give a JSON body or --connection names, one of the two")
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.sessions() as session:
        if body is not None:
            ids = output.parse_body(PriorityBody, output.read_body(body), view=PriorityPublic).connection_ids
        else:
            ids = [common.connection_named(session, name).id for name in connection]
        configure.set_priority(session, ids, by=None)
        priority = priority_public(configuration.priority_order(session))
    _show_priority(priority, as_json)
