"""Automatic creation from the command line (``sync.auto_config``, ``sync.auto_reviews``): ``erpsync auto
show|set|preview`` and the review list, ``erpsync auto reviews|link|create|ignore``.

``show --json`` prints what the API's ``GET /connections/{id}/auto-create/{actor_type}`` answers; ``set --dry-run`` (or
``preview``) shows what the setting would do to today's data and saves nothing. A bad setting is refused with every
reason and changes nothing.
"""

from __future__ import annotations

import typer

from erpsync.api.auto_schemas import AutoPreviewPublic, AutoPreviewsPublic
from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.protocol import models as m
from erpsync.sync import auto_config, auto_reviews, configuration_loading
from erpsync.sync.auto_reviews import ReviewAction, ReviewView
from erpsync.sync.mapping import AutoCreate, AutoDirection
from erpsync.sync.work import Engine

auto_app = typer.Typer(help="Automatic creation: new records on one side created on the other.", no_args_is_help=True)
app.add_typer(auto_app, name="auto")

CONNECTION = typer.Argument(help="the connection's name")
ACTOR_TYPE = typer.Argument(help="customer, supplier, partner, person or project")
REVIEW_ID = typer.Argument(help="the review item's id (erpsync auto reviews)")
DIRECTION = typer.Option(AutoDirection.OFF, "--direction", help="off, erp_to_crm, crm_to_erp or both")
MATCH = typer.Option([], "--match", help="a match key, repeatable: org_number, vat_number, email, name, ...")
DRY_RUN = typer.Option(False, "--dry-run", help="show what the setting would do to today's data; save nothing")


def _show(auto: AutoCreate, as_json: bool) -> None:
    if as_json:
        output.print_json(auto)
        return
    rows = [("direction", auto.direction.value), ("match keys", ", ".join(auto.match) or "-")]
    output.print_table("automatic creation", ("", ""), rows)


@auto_app.command("show")
def auto_show(name: str = CONNECTION, actor_type: str = ACTOR_TYPE, as_json: bool = output.JSON_OPTION) -> None:
    """The actor type's automatic creation: its direction and match keys."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        connection = common.connection_named(session, name)
        configuration_loading.erp_fields_of(session, connection, actor_type)
        shown = configuration_loading.mapping_of(session, connection, m.ActorType(actor_type)).auto_create
    _show(shown, as_json)


@auto_app.command("set")
def auto_set(
    name: str = CONNECTION,
    actor_type: str = ACTOR_TYPE,
    direction: AutoDirection = DIRECTION,
    match: list[str] = MATCH,
    dry_run: bool = DRY_RUN,
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Replace the setting (``--dry-run``: only show what it would do)."""
    auto = AutoCreate(direction=direction, match=tuple(match))
    if dry_run:
        _preview(name, actor_type, auto, as_json)
        return
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.sessions() as session:
        connection = common.connection_named(session, name)
        configuration_loading.erp_fields_of(session, connection, actor_type)
        saved = auto_config.save_auto_create(session, connection, m.ActorType(actor_type), auto, by=None)
    _show(saved, as_json)


@auto_app.command("preview")
def auto_preview(
    name: str = CONNECTION,
    actor_type: str = ACTOR_TYPE,
    direction: AutoDirection = DIRECTION,
    match: list[str] = MATCH,
    as_json: bool = output.JSON_OPTION,
) -> None:
    """How many records the setting would create, link, send to review or stop today; nothing is saved."""
    _preview(name, actor_type, AutoCreate(direction=direction, match=tuple(match)), as_json)


def _preview(name: str, actor_type: str, auto: AutoCreate, as_json: bool) -> None:
    with common.cli_errors(), common.hub_and_clients() as (database, clients):
        with database.read_session() as session:
            connection_id = common.connection_named(session, name).id
        found = auto_config.preview(Engine(database, clients), connection_id, m.ActorType(actor_type), auto)
        shown = AutoPreviewsPublic.of(found)
    if as_json:
        output.print_json(shown)
        return
    rows = [_preview_row("ERP -> CRM", shown.erp_to_crm), _preview_row("CRM -> ERP", shown.crm_to_erp)]
    columns = ("", "created", "linked", "to review", "stopped", "decided before", "looked at")
    output.print_table("what the setting would do today", columns, rows)


def _preview_row(side: str, shown: AutoPreviewPublic) -> tuple[object, ...]:
    checked = f"{shown.checked} (bounded)" if shown.bounded else shown.checked
    return (side, shown.created, shown.linked, shown.review, shown.stopped, shown.decided, checked)


@auto_app.command("reviews")
def auto_reviews_list(
    name: str = CONNECTION,
    status: str = typer.Option("open", "--status", help="open, linked, created, ignored or all"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """The review list: records automatic creation neither created nor linked, with their candidates."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        connection = common.connection_named(session, name)
        items = auto_reviews.list_reviews(session, connection.id, status=None if status == "all" else status)
    if as_json:
        output.print_json(items)
        return
    rows = [
        (
            item.id,
            item.actor_type.value,
            f"{item.side}:{item.record_key}",
            item.label,
            item.reason,
            "; ".join(f"{c.key} {c.label} ({c.criterion})" for c in item.candidates),
            item.status,
        )
        for item in items
    ]
    output.print_table("review list", ("id", "type", "record", "name", "why", "candidates", "status"), rows)


def _decide(name: str, review_id: int, action: ReviewAction, candidate: str | None, as_json: bool) -> None:
    with common.cli_errors(), common.hub_and_clients() as (database, clients):
        with database.read_session() as session:
            connection_id = common.connection_named(session, name).id
        if action is ReviewAction.IGNORE:
            done = auto_reviews.ignore_item(database, connection_id, review_id, by=None)
        else:
            engine = Engine(database, clients)
            done = auto_reviews.decide(engine, connection_id, review_id, action, candidate=candidate, by=None)
    _done(done, as_json)


def _done(item: ReviewView, as_json: bool) -> None:
    if as_json:
        output.print_json(item)
    else:
        typer.echo(f"review item {item.id}: {item.status}")


@auto_app.command("link")
def auto_link(
    name: str = CONNECTION,
    review_id: int = REVIEW_ID,
    candidate: str = typer.Argument(help="the candidate's key, as the review list shows it"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Link the review item's record to one of its candidates."""
    _decide(name, review_id, ReviewAction.LINK, candidate, as_json)


@auto_app.command("create")
def auto_create_new(name: str = CONNECTION, review_id: int = REVIEW_ID, as_json: bool = output.JSON_OPTION) -> None:
    """Create the review item's record new on the other side, and link them."""
    _decide(name, review_id, ReviewAction.CREATE, None, as_json)


@auto_app.command("ignore")
def auto_ignore(name: str = CONNECTION, review_id: int = REVIEW_ID, as_json: bool = output.JSON_OPTION) -> None:
    """Ignore the review item: its record is left alone from now on."""
    _decide(name, review_id, ReviewAction.IGNORE, None, as_json)
