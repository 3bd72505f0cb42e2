"""An actor type's sync filter from the command line (``sync.filter_config``): ``erpsync filters show|set|preview``.

``show --json`` prints what the API's ``GET /connections/{id}/filters/{actor_type}`` answers and ``set`` takes its
``PUT`` body, so the two round-trip; ``preview`` takes the same body and saves nothing. A bad filter is refused with
every reason and changes nothing.
"""

from __future__ import annotations

import typer

from erpsync.api.filter_schemas import FilterPreviewPublic
from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.sync import configuration_loading, filter_config
from erpsync.sync.mapping import SyncFilter
from erpsync.sync.work import Engine

filters_app = typer.Typer(help="Which records of an actor type sync at all (sync filters).", no_args_is_help=True)
app.add_typer(filters_app, name="filters")

CONNECTION = typer.Argument(help="the connection's name")
ACTOR_TYPE = typer.Argument(help="customer, supplier, partner, person or project")


def _show(sync_filter: SyncFilter, as_json: bool) -> None:
    if as_json:
        output.print_json(sync_filter)
        return
    rows = [
        (side, r.field, r.operator.value, ", ".join(str(v) for v in r.values))
        for side, restrictions in (("ERP", sync_filter.erp), ("CRM", sync_filter.crm))
        for r in restrictions
    ]
    output.print_table("sync filter (none: every record syncs)", ("side", "field", "operator", "values"), rows)


@filters_app.command("show")
def filters_show(name: str = CONNECTION, actor_type: str = ACTOR_TYPE, as_json: bool = output.JSON_OPTION) -> None:
    """The restrictions a record must pass on each side to sync."""
    with common.configuring(name) as (session, _clients, connection):
        parsed, _erp_fields = common.actor_type_in(session, connection, actor_type)
        shown = configuration_loading.mapping_of(session, connection, parsed).sync_filter
    _show(shown, as_json)


@filters_app.command("set")
def filters_set(
    name: str = CONNECTION,
    actor_type: str = ACTOR_TYPE,
    body: str = output.BODY_ARGUMENT,
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Replace the filter: {"erp": [{"field", "operator", "values"}], "crm": [...]}."""
    with common.configuring(name, write=True) as (session, _clients, connection):
        sync_filter = output.parse_body(SyncFilter, output.read_body(body))
        parsed, _erp_fields = common.actor_type_in(session, connection, actor_type)
        saved = filter_config.save_filter(session, connection, parsed, sync_filter, by=None)
    _show(saved, as_json)


@filters_app.command("preview")
def filters_preview(
    name: str = CONNECTION,
    actor_type: str = ACTOR_TYPE,
    body: str = output.BODY_ARGUMENT,
    as_json: bool = output.JSON_OPTION,
) -> None:
    """How many linked records the filter would stop syncing (or let sync again); nothing is saved."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients):
        sync_filter = output.parse_body(SyncFilter, output.read_body(body))
        with database.read_session() as session:
            connection = common.connection_named(session, name)
            parsed, _erp_fields = common.actor_type_in(session, connection, actor_type)
            connection_id = connection.id
        shown = FilterPreviewPublic.of(
            filter_config.preview(Engine(database, clients), connection_id, parsed, sync_filter)
        )
    if as_json:
        output.print_json(shown)
        return
    rows = [("links", shown.links), ("looked at", shown.checked), ("would stop syncing", shown.would_stop)]
    rows += [("would sync again", shown.would_resume), ("missing in the ERP", shown.missing)]
    output.print_table(f"preview (the first {shown.limit} links at most)", ("", "records"), rows)
