"""The Tryton connector's ``watch``: a cheap query on ``write_date``/``create_date`` every ``POLL_SECONDS`` while the
watch waits (Tryton's bus needs its own server process and a browser session; a query works against any trytond).

The position is a time: rows written or created strictly after it are changes. Each look is one ``search_read`` per
source model of the asked types (the newest rows first, ``limit + 1`` of them) and one search per asked type that
keeps the parties of that type. An answer cut at ``limit`` ends at a time boundary, so ``next_since`` (the last
named time) loses nothing; only when more than ``limit`` rows share one timestamp (one large Tryton transaction) are
the rows past the limit at that time left to the scheduled cycle.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erpsync.connectors.tryton.changes import Source, feed_end
from erpsync.connectors.tryton.records import Records
from erpsync.errors import ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.watch import WatchRequest, WatchResponse, capped_wait
from erpsync.sdk.watch import watch_answer

POLL_SECONDS = 0.5
_PREFIX = "watch:"
_BEGINNING = dt.datetime(2000, 1, 1)


Asked = Mapping[m.ActorType, list[Source]]
"""The source models of each actor type a watch asks about."""


@dataclass(frozen=True)
class _Row:
    time: dt.datetime
    model: str
    actor_id: int


def watch(records: Records, request: WatchRequest, sources: Mapping[m.ActorType, Sequence[Source]]) -> WatchResponse:
    asked = {actor_type: list(sources[actor_type]) for actor_type in request.actor_types}
    since = _decode(request.since) if request.since else _now(records, asked)
    deadline = time.monotonic() + capped_wait(request)
    while True:
        answer = _look(records, asked, since, request.limit)
        remaining = deadline - time.monotonic()
        if answer.changed or remaining <= 0:
            return answer
        time.sleep(min(POLL_SECONDS, remaining))


def _decode(since: str) -> dt.datetime:
    if not since.startswith(_PREFIX):
        raise ValidationError(f"since {since!r} is not a watch position this connector gave")
    try:
        return dt.datetime.fromisoformat(since.removeprefix(_PREFIX))
    except ValueError as error:
        raise ValidationError(f"since {since!r} is not a watch position this connector gave") from error


def _encode(moment: dt.datetime) -> str:
    return _PREFIX + moment.isoformat(timespec="microseconds")


def _now(records: Records, asked: Asked) -> dt.datetime:
    """The newest change time of the asked types' records: every later change is after it."""
    ends = [feed_end(records.rpc, sources, context=records.context) for sources in asked.values()]
    return max((end.time for end in ends if end is not None), default=_BEGINNING)


def _look(records: Records, asked: Asked, since: dt.datetime, limit: int) -> WatchResponse:
    models = {source.model: source for sources in asked.values() for source in sources}
    rows = sorted(
        (row for source in models.values() for row in _changed_rows(records, source, since, limit + 1)),
        key=lambda row: row.time,
    )
    if not rows:
        return WatchResponse(next_since=_encode(since))
    named, more = _cut(rows, limit)
    hints = _typed(records, asked, named)
    next_since = named[-1].time if named else since
    answer = watch_answer(hints, limit=limit, next_since=_encode(next_since))
    return answer.model_copy(update={"more": more or answer.more})


def _changed_rows(records: Records, source: Source, since: dt.datetime, limit: int) -> list[_Row]:
    domain = ["OR", ["write_date", ">", since], ["create_date", ">", since]]
    fields = list({"write_date", "create_date", source.actor_field})
    context: dict[str, Any] = {**records.context, "active_test": False}
    order = [["write_date", "ASC"], ["create_date", "ASC"], ["id", "ASC"]]
    found = records.rpc.search_read(source.model, domain, fields, limit=limit, order=order, context=context)
    return [
        _Row(row["write_date"] or row["create_date"], source.model, int(row[source.actor_field]))
        for row in found
        if row[source.actor_field] is not None
    ]


def _cut(rows: list[_Row], limit: int) -> tuple[list[_Row], bool]:
    """At most ``limit`` rows, ending at a time boundary when some are left out (unless one time fills the limit)."""
    if len(rows) <= limit:
        return rows, False
    boundary = rows[limit].time
    before = [row for row in rows[:limit] if row.time < boundary]
    return (before or rows[:limit]), True


def _typed(records: Records, asked: Asked, rows: list[_Row]) -> list[tuple[m.ActorType, str]]:
    """The rows' actors under each asked type they are of, in change order."""
    hints: list[tuple[m.ActorType, str]] = []
    for actor_type, sources in asked.items():
        wanted = {source.model for source in sources}
        ids = list(dict.fromkeys(row.actor_id for row in rows if row.model in wanted))
        if not ids:
            continue
        of_type = set(records.find(actor_type, [["id", "in", ids]], limit=None, active_only=False))
        hints += [(actor_type, str(actor_id)) for actor_id in ids if actor_id in of_type]
    return hints
