"""Bulk writes at the speed of the database driver, in the caller's transaction: ids reserved up front, then one
``COPY`` (PostgreSQL) or one ``executemany`` (SQLite) for all the rows; and table statistics kept current during a
bulk load (PostgreSQL), so the planner keeps using the indexes as the tables grow.

Public names: ``reserve_ids(session, table, count)``, ``insert_rows(session, table, rows)``, ``LoadStatistics``,
``one_of(session, column, values)`` (a bulk lookup's condition).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import ARRAY, JSON, ColumnElement, Table, any_, literal, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import QueryableAttribute, Session

T = TypeVar("T")

ANALYZE_FIRST_ROWS = 1_000
"""A table is analysed once a load has added this many rows to it, and again each time the load has doubled it."""


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def one_of(session: Session, column: QueryableAttribute[T], values: Collection[T]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:values)``: one array parameter however many values, so
    neither SQLAlchemy nor the driver handles a placeholder per value, and the statement is the same text every time
    (the driver prepares it once it repeats)."""
    if _dialect(session) == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(list(values))


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new ids of ``table``, never used before; call it in the transaction that inserts them. On SQLite the
    caller holds the write lock (every write transaction begins immediate), so the ids after the highest ever handed
    out are free until it commits; PostgreSQL hands them out of the table's sequence."""
    if count <= 0:
        return []
    if _dialect(session) == "postgresql":
        query = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)")
        return [int(value) for value in session.scalars(query, {"table": table.name, "count": count})]
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
    if _dialect(session) != "postgresql":
        _executemany(session, table, names, rows)
        return
    import psycopg  # the PostgreSQL driver: imported only on PostgreSQL
    from psycopg.types.json import Jsonb

    json_columns = {name for name in names if isinstance(table.c[name].type, JSON)}
    columns = ", ".join(f'"{name}"' for name in names)
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a live connection in the session's transaction
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([Jsonb(row.get(name)) if name in json_columns else row.get(name) for name in names])
    except (
        psycopg.Error
    ) as error:  # raised as SQLAlchemy raises it for any statement (IntegrityError, OperationalError)
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error


def _executemany(session: Session, table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """One ``executemany`` of the driver, with the values of the columns whose type converts them (dates, JSON)
    converted by it: no statement compiled per row."""
    connection = session.connection()
    dialect = connection.dialect
    # The dialect's own conversion, as a compiled statement applies it (a type decorator's alone would hand the
    # driver a datetime for its deprecated default adapter to format).
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    converted = [(index, to_db) for index, to_db in enumerate(processors) if to_db is not None]
    if all(len(row) == len(names) for row in rows):  # every row names every column: pick them out in C
        pick = itemgetter(*names)
        values = [pick(row) for row in rows] if len(names) > 1 else [(pick(row),) for row in rows]
    else:
        values = [tuple(row.get(name) for name in names) for row in rows]
    if converted:
        lists = [list(row) for row in values]
        for index, to_db in converted:
            _convert_column(lists, index, to_db)
        values = [tuple(row) for row in lists]
    columns = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" * len(names))
    statement = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'  # noqa: S608 - our table and columns
    connection.exec_driver_sql(statement, values)


def _convert_column(rows: Sequence[list[Any]], index: int, to_db: Callable[[Any], Any]) -> None:
    """Convert one column of ``rows`` in place; a value the row before held too (the same object: a page's rows share
    their time stamp) is converted once."""
    last_in: Any = None
    last_out: Any = None
    for row in rows:
        value = row[index]
        if value is None:
            continue
        if value is not last_in:
            last_in, last_out = value, to_db(value)
        row[index] = last_out


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
            if added >= max(ANALYZE_FIRST_ROWS, self.known[name]):
                self.known[name] += added
                self.added[name] = 0
                due.append(name)
        if due:
            session.execute(text("ANALYZE " + ", ".join(f'"{name}"' for name in due)))
        return due
