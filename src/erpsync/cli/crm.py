"""``erpsync crm merge companies|persons SURVIVOR MERGED``: the CRM merge from the command line, which may merge any
two records (it acts as an administrator): the fields that differ and the value each keeps, a question, then the
merge (``sync.crm_merges``: one unit of work with the links rule) and what it did."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.crm import merge as crm_merge
from erpsync.crm.fields import EntityType
from erpsync.errors import ValidationError
from erpsync.storage.db import Database
from erpsync.sync import crm_merges

crm_app = typer.Typer(help="The built-in CRM: merge two companies or two persons.", no_args_is_help=True)
merge_app = typer.Typer(help="Merge two CRM records into one, with their ERP links.", no_args_is_help=True)
crm_app.add_typer(merge_app, name="merge")
app.add_typer(crm_app, name="crm")

TAKE_HELP = (
    "FIELD=merged takes the merged record's value of FIELD (blank included); FIELD=survivor keeps the survivor's"
)
SIDES = {"merged": crm_merge.Keep.OTHER, "survivor": crm_merge.Keep.SURVIVOR}


def parse_takes(takes: Sequence[str]) -> dict[str, crm_merge.Keep]:
    """``["email=merged", ...]`` as the merge's choices (``ValidationError`` for a malformed one)."""
    choices: dict[str, crm_merge.Keep] = {}
    for take in takes:
        field, sep, side = take.partition("=")
        if not sep or not field.strip() or side.strip() not in SIDES:
            raise ValidationError(f"--take {take!r}: write FIELD=merged or FIELD=survivor")
        choices[field.strip()] = SIDES[side.strip()]
    return choices


def _show_plan(
    database: Database, entity_type: EntityType, survivor: int, merged: int, choices: dict[str, crm_merge.Keep]
) -> None:
    with database.read_session() as session:
        found = crm_merge.differences(session, entity_type, survivor, merged)
    rows = (
        (
            d.attr,
            d.survivor,
            d.other,
            "merged" if choices.get(d.attr, d.default) is crm_merge.Keep.OTHER else "survivor",
        )
        for d in found
    )
    title = f"{entity_type} {merged} merged into {entity_type} {survivor}, which is kept"
    output.print_table(title, ("field", f"survivor {survivor}", f"merged {merged}", "kept"), rows)
    if not found:
        typer.echo("the two records hold the same values")


def _show_report(report: crm_merges.MergeReport) -> None:
    typer.echo(f"merged {report.entity_type} {report.merged_id} into {report.entity_type} {report.survivor_id}")
    typer.echo(f"values taken from the merged record: {', '.join(report.taken_from_other) or 'none'}")
    if report.entity_type == EntityType.COMPANY.value:
        typer.echo(f"persons moved: {len(report.persons_moved)}")
    moved = [(m.connection_id, m.link_id, m.actor_type, m.erp_key) for m in report.links_moved]
    if moved:
        output.print_table("ERP links moved", ("connection", "link", "actor type", "ERP key"), moved)
    else:
        typer.echo("ERP links moved: none")
    for conflict in report.link_conflicts:
        typer.echo(f"left behind (broken link {conflict.broken_link_id}): {conflict.reason}")


def _merge(entity_type: EntityType, survivor: int, merged: int, takes: Sequence[str], yes: bool, as_json: bool) -> None:
    with common.cli_errors():
        choices = parse_takes(takes)
        database = common.upgraded_database()
        try:
            if not as_json:
                _show_plan(database, entity_type, survivor, merged, choices)
            if not yes and not typer.confirm(f"Merge {entity_type} {merged} into {survivor}?", err=True):
                typer.echo("nothing merged")
                raise typer.Exit(1)
            with database.sessions() as session:
                report = crm_merges.merge_records(session, entity_type, survivor, merged, choices, user=None)
        finally:
            database.dispose()
    if as_json:
        output.print_json(report)
    else:
        _show_report(report)


SURVIVOR = typer.Argument(..., help="the id of the record kept")
MERGED = typer.Argument(..., help="the id of the record merged into it and deleted")
TAKE = typer.Option([], "--take", help=TAKE_HELP)
YES = typer.Option(False, "--yes", "-y", help="merge without asking")


@merge_app.command("companies")
def merge_companies(
    survivor: int = SURVIVOR,
    merged: int = MERGED,
    take: list[str] = TAKE,
    yes: bool = YES,
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Merge company MERGED into SURVIVOR: its persons and ERP links move to SURVIVOR, then it is deleted."""
    _merge(EntityType.COMPANY, survivor, merged, take, yes, as_json)


@merge_app.command("persons")
def merge_persons(
    survivor: int = SURVIVOR,
    merged: int = MERGED,
    take: list[str] = TAKE,
    yes: bool = YES,
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Merge person MERGED into SURVIVOR: its ERP links move to SURVIVOR, then it is deleted."""
    _merge(EntityType.PERSON, survivor, merged, take, yes, as_json)
