"""Incremental change feeds over Tryton records, in one total order that pages without gaps.

A record's change time is ``write_date``, or ``create_date`` while it was never written. An actor is touched when
any of its source records changes (a party's addresses and contact mechanisms, not only the party). Tryton cannot
sort by ``coalesce(write_date, create_date)``, so each source is read as two sorted streams (written records by
``write_date``, never-written ones by ``create_date``) and the streams are merged in Python by
``(time, stream, id)``. The cursor is the position of the last row consumed, so equal timestamps never lose or
repeat a row. An actor touched by several rows is answered on the page that reaches its last one (the caller
leaves out actors in ``Page.later`` or changed after the page's end), so an actor that does not change while the
hub pages appears once.

A traversal ends with ``next_since`` = the position of the last row it read: the next cycle resumes strictly after
it, so a quiet cycle answers nothing however many rows share the last timestamp. A full read (``since`` null) does
not need the change order: it pages the actors by id (``FullCursor``), one search per page, and ends at the feed's
end as it was before the first page (``feed_end``), so whatever changes while it pages is read by the next cycle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from erpsync.connectors.tryton.rpc import Domain, TrytonRpc
from erpsync.errors import ValidationError


@dataclass(frozen=True)
class Source:
    """Records of ``model`` whose change touches the actor whose id is in ``actor_field``."""

    model: str
    actor_field: str = "id"


@dataclass(frozen=True, order=True)
class Position:
    """A row's place in the merged order."""

    time: dt.datetime
    stream: int
    row_id: int

    def encode(self) -> str:
        return f"{self.time.isoformat(timespec='microseconds')}|{self.stream}|{self.row_id}"

    @classmethod
    def decode(cls, cursor: str) -> Position:
        try:
            time, stream, row_id = cursor.split("|")
            return cls(dt.datetime.fromisoformat(time), int(stream), int(row_id))
        except ValueError as error:
            raise ValidationError(f"invalid changes cursor {cursor!r}") from error

    @classmethod
    def start(cls, since: dt.datetime) -> Position:
        """Just before every row changed at or after ``since``."""
        return cls(since, -1, 0)

    @classmethod
    def is_position(cls, text: str) -> bool:
        """Whether ``text`` is an encoded position (a ``next_since`` this connector gave), not an ISO time."""
        return text.count("|") == 2


@dataclass(frozen=True)
class FullCursor:
    """Where a full read is: after the actor ``last_id``; ``end`` is the feed's end when the read began."""

    last_id: int
    end: Position | None

    PREFIX = "all"

    def encode(self) -> str:
        return f"{self.PREFIX}|{self.last_id}|{self.end.encode() if self.end else ''}"

    @classmethod
    def is_full(cls, cursor: str) -> bool:
        return cursor.startswith(cls.PREFIX + "|")

    @classmethod
    def decode(cls, cursor: str) -> FullCursor:
        try:
            _, last_id, end = cursor.split("|", 2)
            return cls(int(last_id), Position.decode(end) if end else None)
        except ValueError as error:
            raise ValidationError(f"invalid changes cursor {cursor!r}") from error


def feed_end(rpc: TrytonRpc, sources: list[Source], *, context: dict[str, Any]) -> Position | None:
    """The position of the newest row of the feed now: one read per stream, the newest row only."""
    ends: list[Position] = []
    for index, source in enumerate(sources):
        for written, time_field in enumerate(("write_date", "create_date")):
            domain: Domain = [["write_date", "!=" if time_field == "write_date" else "=", None]]
            order = [[time_field, "DESC"], ["id", "DESC"]]
            rows = rpc.search_read(source.model, domain, [time_field], limit=1, order=order, context=_every(context))
            ends += [Position(row[time_field], index * 2 + written, row["id"]) for row in rows]
    return max(ends, default=None)


@dataclass(frozen=True)
class Page:
    actor_ids: list[int]  # in change order, each once
    last: Position | None  # of the last row consumed; None when nothing changed
    more: bool
    later: frozenset[int] = frozenset()  # actors with a row read past ``last``: changed again further on


def read_page(
    rpc: TrytonRpc, sources: list[Source], *, after: Position | None, limit: int, context: dict[str, Any]
) -> Page:
    """The next ``limit`` changed rows after ``after`` (None: from the beginning), as actor ids."""
    rows: list[tuple[Position, int]] = []
    for index, source in enumerate(sources):
        for written, time_field in enumerate(("write_date", "create_date")):
            stream = index * 2 + written
            rows.extend(_stream(rpc, source, stream, time_field, after=after, limit=limit + 1, context=context))
    merged = sorted(rows)
    taken = merged[:limit]
    actor_ids = list(dict.fromkeys(actor_id for _, actor_id in taken))
    later = frozenset(actor_id for _, actor_id in merged[limit:])
    return Page(actor_ids, taken[-1][0] if taken else None, more=len(merged) > limit, later=later)


def _stream(
    rpc: TrytonRpc,
    source: Source,
    stream: int,
    time_field: str,
    *,
    after: Position | None,
    limit: int,
    context: dict[str, Any],
) -> list[tuple[Position, int]]:
    domain: Domain = [["write_date", "!=" if time_field == "write_date" else "=", None]]
    if after is not None:
        domain.append(_after(time_field, stream, after))
    order = [[time_field, "ASC"], ["id", "ASC"]]
    fields = list({time_field, source.actor_field})
    rows = rpc.search_read(source.model, domain, fields, limit=limit, order=order, context=_every(context))
    return [
        (Position(row[time_field], stream, row["id"]), _actor_id(row[source.actor_field]))
        for row in rows
        if row[source.actor_field] is not None
    ]


def _after(time_field: str, stream: int, after: Position) -> Domain:
    """Rows of ``stream`` strictly after ``after`` in (time, stream, id) order."""
    if stream > after.stream:
        return [time_field, ">=", after.time]
    if stream < after.stream:
        return [time_field, ">", after.time]
    return ["OR", [time_field, ">", after.time], [[time_field, "=", after.time], ["id", ">", after.row_id]]]


def _actor_id(value: Any) -> int:
    return int(value)


def _every(context: dict[str, Any]) -> dict[str, Any]:
    """Inactive records too. In the context, not the domain: Tryton adds its active filter to a domain with an OR
    even when the domain names ``active``."""
    return {**context, "active_test": False}
