"""How commands show what they read and take what they write: ``--json`` prints the API's JSON shapes for scripts, a
Rich table is for people; a ``set`` command reads a JSON body (a file, or ``-`` for standard input) in the API's
request shape; long work shows a progress bar.

The JSON shapes are the API's own models (``erpsync.api.*_schemas``, ``erpsync.sync.*_views``), never a copy, so
``show --json`` prints exactly what the API answers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, TypeAdapter
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from erpsync.errors import ValidationError
from erpsync.sync.record import RecordResult

ModelT = TypeVar("ModelT", bound=BaseModel)

JSON_OPTION = typer.Option(False, "--json", help="print the API's JSON instead of a table")
BODY_ARGUMENT = typer.Argument("-", help="JSON file in the API's request shape, or - for standard input")


def print_json(data: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    """The data as the API answers it: models dumped in JSON mode by their aliases, one document, indented."""
    plain = TypeAdapter(Any).dump_python(data, mode="json", by_alias=True)
    typer.echo(json.dumps(plain, indent=2, ensure_ascii=False))


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A Rich table for people; ``None`` shows as a dash. Text is printed as is (no Rich markup)."""
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*("-" if cell is None else str(cell) for cell in row))
    Console().print(table, markup=False, highlight=False)


def print_record_results(results: Sequence[RecordResult], as_json: bool, *, none: str) -> None:
    """What syncing records did (*Retry*, a conflict settled): one line each, ``none`` when there were none."""
    if as_json:
        print_json(results)
        return
    for result in results:
        errors = "; ".join(error.message for error in result.errors)
        typer.echo(f"link {result.link_id}: {result.state}" + (f" ({errors})" if errors else ""))
    if not results:
        typer.echo(none)


def print_fields(title: str, fields: dict[str, object]) -> None:
    """One object as a two-column table of its attributes."""
    print_table(title, ("", "value"), fields.items())


def read_body(source: str) -> Any:
    """The JSON document in the file ``source`` (``-``: standard input); ``ValidationError`` when it is not JSON."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"cannot read JSON from {'standard input' if source == '-' else source}: {exc}") from exc


def parse_body(model: type[ModelT], data: Any, *, view: type[BaseModel] | None = None) -> ModelT:
    """``data`` as the request body ``model``; what ``show --json`` printed (the ``view``) is taken too: the keys the
    view adds to the body are dropped first, so ``show --json`` round-trips into ``set``. Anything else the body does
    not know is refused, like the API refuses it."""
    if view is not None and isinstance(data, dict):
        data = without_keys(data, set(view.model_fields) - set(model.model_fields))
    return model.model_validate(data)


def without_keys(data: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in keys}


@contextmanager
def progress_bar(description: str, *, total: int | None = None) -> Iterator[tuple[Progress, Any]]:
    """A progress bar with a count and the time remaining (a spinner while the total is unknown), on standard error
    so that standard output stays the result."""
    columns = (
        SpinnerColumn(),
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield progress, progress.add_task(description, total=total)
