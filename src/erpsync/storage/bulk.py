"""Bulk writes at the speed of the database driver, in the caller's transaction: ids reserved up front, then one
``COPY`` (PostgreSQL) or one ``executemany`` (SQLite) for all the rows; and table statistics kept current during a
bulk load (PostgreSQL), so the planner keeps using the indexes as the tables grow.

Public names: ``reserve_ids(session, table, count)``, ``insert_rows(session, table, rows)`` (mappings),
``insert_values(session, table, names, rows, same)`` (tuples), ``row_values(rows, names)``, ``LoadStatistics``,
``one_of(session, column, values)`` (a bulk lookup's condition), ``commit_unflushed(session)``,
``queue_inserts(session)`` and ``send_queued(session)`` (a transaction's inserts sent at its end without waiting:
``storage.sent``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import itemgetter
from typing import Any, TypeVar

import orjson
from sqlalchemy import ARRAY, JSON, ColumnElement, Table, UniqueConstraint, any_, func, literal, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import QueryableAttribute, Session

from erpsync.storage.sent import Insert, LocalWrite, SentWrite, local_inserts, send
from erpsync.storage.tables import Base

T = TypeVar("T")

_QUEUED = "erpsync.bulk.queued"
"""The session's key (``Session.info``) of its inserts queued for ``send_queued``."""

ANALYZE_FIRST_ROWS = 1_000
"""A table is analysed once a load has added this many rows to it, and again each time the load has doubled it."""


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def one_of(session: Session, column: QueryableAttribute[T], values: Collection[T]) -> ColumnElement[bool]:
    """``column IN (values)`` with the values (text or whole numbers) as ONE parameter, however many: on PostgreSQL
    ``column = ANY(:array)`` (the driver prepares the statement once it repeats), on SQLite ``column IN (SELECT value
    FROM json_each(:json))``. The statement is the same text every time, so neither SQLAlchemy nor the driver handles
    a placeholder per value (an ``IN`` list is compiled again for each count of values and binds each one)."""
    if _dialect(session) == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    listed = func.json_each(literal(orjson.dumps(list(values)).decode())).table_valued("value")
    return column.in_(select(listed.c.value))


def commit_unflushed(session: Session) -> None:
    """Let the session's transaction commit without waiting for PostgreSQL to flush it to disk (``synchronous_commit``
    off for this transaction alone). A crash may then lose it, never half of it and never an older one: for a bulk
    load's page, which commits the load's progress with its rows, the load redoes what was lost. SQLite's
    ``synchronous=NORMAL`` commits every transaction so (``storage.db``); nothing to do there."""
    if _dialect(session) == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def queue_inserts(session: Session) -> None:
    """From now on in the session's transaction, ``insert_values`` queues its rows for ``send_queued`` instead of
    writing them at once. Only for writes that read none of those rows back before they are sent."""
    session.info[_QUEUED] = []


def send_queued(session: Session, *, unflushed: bool = False) -> SentWrite:
    """The inserts queued since ``queue_inserts``, sent without waiting for them to be stored (``SentWrite.wait``
    reads the outcome; the session may commit only after it): on PostgreSQL sent as one statement the server runs
    meanwhile; on SQLite run at ``wait``, by whichever thread waits (``storage.sent.LocalWrite``). Inserts are
    written at once again from here on. ``unflushed``: what ``commit_unflushed`` does, in the same statement."""
    queued: list[Insert] = session.info.pop(_QUEUED, [])
    if _dialect(session) == "postgresql":
        return send(session, queued, unflushed=unflushed)
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None  # a live connection in the session's transaction
    statements = [
        statement
        for insert in queued
        for statement in local_inserts(
            raw, insert.table, *_driver_rows(connection, insert.table, insert.names, insert.rows, dict(insert.same))
        )
    ]
    return LocalWrite(raw, statements)


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new ids of ``table``, never used before; call it in the transaction that inserts them. On SQLite the
    caller holds the write lock (every write transaction begins immediate), so the ids after the highest ever handed
    out are free until it commits; PostgreSQL hands them out of the table's sequence."""
    if count <= 0:
        return []
    if _dialect(session) == "postgresql":
        # One row, the ids as an array: not a result row per id.
        query = text("SELECT array_agg(nextval(pg_get_serial_sequence(:table, 'id'))) FROM generate_series(1, :count)")
        return sorted(session.execute(query, {"table": table.name, "count": count}).scalar_one())
    highest = session.execute(text(f"SELECT max(id) FROM {table.name}")).scalar()  # noqa: S608 - a table of ours
    if table.dialect_options["sqlite"].get("autoincrement"):  # ids of deleted rows are not handed out again
        ever = session.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :name"), {"name": table.name})
        highest = max(int(highest or 0), int(ever.scalar() or 0))
    first = int(highest or 0) + 1
    return list(range(first, first + count))


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (column name -> value; a column a row leaves out is NULL there, no Python-side default applies)
    into ``table`` in the session's transaction: ``COPY`` on PostgreSQL, one ``executemany`` elsewhere."""
    if not rows:
        return
    names = list(dict.fromkeys(chain.from_iterable(rows)))  # every column any row names, in order
    insert_values(session, table, names, row_values(rows, names))


def row_values(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[tuple[Any, ...]]:
    """The values of ``names`` in each of ``rows``, in order (None where a row has no such key)."""
    if names and all(len(row) == len(names) for row in rows):  # every row names every column: pick them out in C
        pick = itemgetter(*names)
        return [pick(row) for row in rows] if len(names) > 1 else [(pick(row),) for row in rows]
    return [tuple(row.get(name) for name in names) for row in rows]


def insert_values(
    session: Session,
    table: Table,
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    same: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (the values of the columns ``names``, in order) into ``table`` in the session's transaction,
    each with the values of ``same`` (column name -> one value for every row, converted once): ``COPY`` on
    PostgreSQL, one ``executemany`` elsewhere. No mapping per row: a bulk load's rows are tuples."""
    if not rows:
        return
    same = same or {}
    queued = session.info.get(_QUEUED)
    if queued is not None:
        queued.append(Insert(table, tuple(names), rows, tuple(same.items())))
    elif _dialect(session) == "postgresql":
        _copy(session, table, [*names, *same], rows, tuple(same.values()))
    else:
        connection = session.connection()
        every, values = _driver_rows(connection, table, names, rows, same)
        columns = ", ".join(f'"{name}"' for name in every)
        marks = ", ".join("?" * len(every))
        statement = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'  # noqa: S608 - our table and columns
        connection.exec_driver_sql(statement, values)


def _copy(
    session: Session, table: Table, names: Sequence[str], rows: Sequence[tuple[Any, ...]], tail: tuple[Any, ...]
) -> None:
    """``COPY`` in text format: the server parses each value as its column's type, so a JSON value goes as its text
    (``json_text``) and None as NULL (as the SQLite path stores it)."""
    import psycopg  # the PostgreSQL driver: imported only on PostgreSQL

    json_columns = [index for index, name in enumerate(names) if isinstance(table.c[name].type, JSON)]
    columns = ", ".join(f'"{name}"' for name in names)
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a live connection in the session's transaction
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            if not json_columns:
                for row in rows:
                    write(row + tail if tail else row)
                return
            for row in rows:
                values = list(row + tail if tail else row)
                for index in json_columns:
                    if values[index] is not None:
                        values[index] = json_text(values[index])
                write(values)
    except (
        psycopg.Error
    ) as error:  # raised as SQLAlchemy raises it for any statement (IntegrityError, OperationalError)
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error


def _driver_rows(
    connection: Connection,
    table: Table,
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    same: Mapping[str, Any],
) -> tuple[list[str], Sequence[tuple[Any, ...]]]:
    """The columns and rows for the SQLite driver (``executemany``, or ``storage.sent.local_inserts``): the values of
    the columns whose type converts them (dates, JSON) converted, column by column, and those ``same`` gives every row
    converted once and added to each row."""
    dialect = connection.dialect

    def processor(name: str) -> Callable[[Any], Any] | None:
        if isinstance(table.c[name].type, JSON):
            return json_text
        # The dialect's own conversion, as a compiled statement applies it (a type decorator's alone would hand the
        # driver a datetime for its deprecated default adapter to format).
        return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)

    tail = []
    for name, value in same.items():
        to_db = processor(name)
        tail.append(to_db(value) if to_db is not None and value is not None else value)
    converted = [(index, to_db) for index, name in enumerate(names) if (to_db := processor(name)) is not None]
    values: Sequence[tuple[Any, ...]] = rows
    if converted:  # column by column: the loops over the rows stay in C but for the conversions themselves
        by_column: list[Sequence[Any]] = list(zip(*rows, strict=True))
        for index, to_db in converted:
            by_column[index] = _converted(by_column[index], to_db)
        values = list(zip(*by_column, *(repeat(value, len(rows)) for value in tail), strict=True))
    elif tail:
        ending = tuple(tail)
        values = [row + ending for row in rows]
    return [*names, *same], values


def json_text(value: Any) -> str:
    """``value`` as JSON text, as ``json.dumps`` writes it but for the spaces: ``orjson`` writes it ten times faster
    (a bulk load writes a JSON value per row); what it does not take (an integer beyond 64 bits, a key that is not
    text) goes through ``json.dumps``."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _converted(values: Sequence[Any], to_db: Callable[[Any], Any]) -> list[Any]:
    """``values`` converted (None stays None); a value the one before was too (the same object: a page's rows share
    their time stamp) is converted once."""
    out = list(values)
    last_in: Any = None
    last_out: Any = None
    for index, value in enumerate(out):
        if value is None:
            continue
        if value is not last_in:
            last_in, last_out = value, to_db(value)
        out[index] = last_out
    return out


@dataclass
class LoadStatistics:
    """Keeps the planner's statistics of the tables a bulk load grows current (PostgreSQL; SQLite's planner uses the
    indexes without them): without them the planner takes a table for as empty as it was when last analysed and
    scans it whole for every lookup, so a load slows down quadratically. Each table is analysed once the load has
    added ``ANALYZE_FIRST_ROWS`` rows, then each time it has doubled the table: a handful of analyses, whatever the
    size."""

    added: dict[str, int] = field(default_factory=dict)
    known: dict[str, int] = field(default_factory=dict)

    def grew(self, table: str, rows: int) -> None:
        """The load added ``rows`` to ``table`` (committed)."""
        self.added[table] = self.added.get(table, 0) + rows

    def may_be_due(self) -> bool:
        """Whether ``keep_current`` may analyse a table now: a table has grown by ``ANALYZE_FIRST_ROWS`` and by as
        many rows as it held when last analysed (or its size is still to be read). False: no need to ask the
        database (most pages of a load)."""
        return any(self._grown_enough(name) for name in self.added)

    def _grown_enough(self, name: str) -> bool:
        """Whether ``name`` has grown by ``ANALYZE_FIRST_ROWS`` and by the rows it held when last analysed (none
        known: its size is still to be read)."""
        return self.added[name] >= max(ANALYZE_FIRST_ROWS, self.known.get(name, 0))

    def keep_current(self, session: Session) -> list[str]:
        """``ANALYZE`` (in the session's transaction) the tables the load has grown enough since they were last
        analysed; returns their names."""
        if _dialect(session) != "postgresql":
            return []
        due = []
        for name, added in self.added.items():
            if name not in self.known:
                estimate = session.execute(
                    text("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = to_regclass(:name)"), {"name": name}
                ).scalar()
                self.known[name] = int(estimate or 0)
            if self._grown_enough(name):
                self.known[name] += added
                self.added[name] = 0
                due.append(name)
        if due:
            session.execute(text("ANALYZE " + ", ".join(_indexed_columns(name) for name in due)))
        return due


def _indexed_columns(name: str) -> str:
    """``ANALYZE``'s target for the table ``name``: the columns of its keys and indexes, by which the planner weighs a
    lookup (and the row count, which any ``ANALYZE`` takes). Other columns' statistics (text, JSON) cost the most to
    gather and no lookup is planned by them."""
    table = Base.metadata.tables[name]
    columns = [column.name for column in table.primary_key]
    for index in table.indexes:
        columns += [column.name for column in index.columns]
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            columns += [column.name for column in constraint.columns]
    return f'"{name}" (' + ", ".join(f'"{column}"' for column in dict.fromkeys(columns)) + ")"
