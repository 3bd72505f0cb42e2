"""Bulk inserts sent without waiting for them: the database stores the rows while the caller goes on with other work
(an import classifies its next page), and the caller reads the outcome later, before it commits.

PostgreSQL: all of a transaction's queued inserts go as ONE statement (an ``INSERT`` per table, chained as
data-modifying ``WITH`` clauses, so the rows of one may refer to those of another), each table's rows as one JSON
array parameter that the server takes apart (``jsonb_array_elements``): the client formats nothing row by row
(``orjson`` writes the whole array), and the server parses each value as its column's type, as ``COPY`` does. Nothing
else may use the connection until ``SentWrite.wait`` has read the outcome.

SQLite: no server works meanwhile; ``LocalWrite`` runs the inserts when it is waited for, by a thread of the caller's
that the SQLite library lets write with Python's interpreter lock free: a statement per table (or per
``ROWS_PER_STATEMENT`` rows), every row's values bound as its parameters (``INSERT ... VALUES (...), (...)``), so the
library takes them as they are and stores them all in one step.

Public names: ``Insert`` (one table's rows), ``send(session, inserts)`` -> ``SentWrite``, ``LocalWrite`` and
``local_inserts(raw, table, names, rows)``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

if TYPE_CHECKING:  # the PostgreSQL driver: imported only on PostgreSQL
    import psycopg


@dataclass(frozen=True)
class Insert:
    """Rows for ``table``: each the values of ``names`` in order, then those of ``same`` (one value for every row)."""

    table: Table
    names: Sequence[str]
    rows: Sequence[tuple[Any, ...]]
    same: tuple[tuple[str, Any], ...] = ()


class SentWrite:
    """A write sent and not read back yet: ``wait`` reads its outcome (raising the statement's error as SQLAlchemy
    raises any: ``IntegrityError``, ``OperationalError``...), ``drain`` lets whatever it says be. Once read, either
    does nothing. This one sent nothing."""

    def wait(self) -> None:
        return None

    def drain(self) -> None:
        """Read the outcome if it is still to be read, whatever it says: the connection takes nothing else before,
        not even a rollback."""
        try:
            self.wait()
        except DBAPIError:
            return


class _ServerWrite(SentWrite):
    """A statement PostgreSQL runs while the caller goes on; ``wait`` reads the server's answer."""

    def __init__(self, raw: psycopg.Connection[Any], statement: str) -> None:
        self._raw: psycopg.Connection[Any] | None = raw
        self.statement = statement

    def wait(self) -> None:
        raw = self._raw
        if raw is None:
            return
        import psycopg
        from psycopg import errors, generators, pq

        try:
            with raw.lock:
                results = raw.wait(generators.fetch_many(raw.pgconn))
        except psycopg.Error as lost:  # the connection lost: nothing more to read
            self._raw = None
            raise DBAPIError.instance(self.statement, None, lost, psycopg.Error) from lost
        self._raw = None  # read (an interruption before this leaves it to read again)
        for result in results:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                error = errors.error_from_result(result, encoding=raw.info.encoding)
                raise DBAPIError.instance(self.statement, None, error, psycopg.Error) from error


class LocalWrite(SentWrite):
    """SQLite's: nothing runs the statements but the process itself, so they run at ``wait``, in the thread that
    waits. Each is ONE step of the SQLite library (its rows' values bound as parameters, ``local_inserts``), and the
    library runs a step with Python's interpreter lock free: a thread that waits here writes while the caller's own
    thread goes on (an import classifies its next page). ``drain`` runs nothing: nothing was sent."""

    def __init__(self, raw: sqlite3.Connection, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        self._raw = raw
        self._statements = list(statements)

    def wait(self) -> None:
        statements, self._statements = self._statements, []
        for statement, parameters in statements:
            try:
                self._raw.execute(statement, parameters)
            except sqlite3.Error as error:  # raised as SQLAlchemy raises it for any statement
                raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error

    def drain(self) -> None:
        self._statements = []


ROWS_PER_STATEMENT = 500
"""At most this many rows in one SQLite statement (a page's): the statement's text is the same for every full page,
so the driver prepares it once (its statement cache)."""


def local_inserts(
    raw: sqlite3.Connection, table: Table, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> list[tuple[str, list[Any]]]:
    """The SQLite statements (and their parameters) that insert ``rows`` (values of ``names``, as the driver takes
    them) into ``table``: ``INSERT ... VALUES`` with a row of parameters per row, as many rows a statement as the
    connection's limit of parameters allows (at most ``ROWS_PER_STATEMENT``). Not ``executemany``: that takes
    Python's interpreter lock back for every row, and waits for it each time while the caller's thread computes."""
    if not rows:
        return []
    width = len(names)
    per_statement = max(1, min(ROWS_PER_STATEMENT, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    listed = ", ".join(f'"{name}"' for name in names)
    marks = "(" + ", ".join("?" * width) + ")"
    statements = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = ", ".join([marks] * len(chunk))
        statement = f'INSERT INTO "{table.name}" ({listed}) VALUES {values}'  # noqa: S608 - ours; values are parameters
        statements.append((statement, list(chain.from_iterable(chunk))))
    return statements


def send(session: Session, inserts: Sequence[Insert], *, unflushed: bool = False) -> SentWrite:
    """Send ``inserts`` as one statement on the session's connection (PostgreSQL, in its transaction) and return
    without waiting for the server to store them; ``unflushed``: the statement also lets the transaction commit
    without waiting for the disk (``storage.bulk.commit_unflushed``), with no round trip of its own."""
    if not inserts and not unflushed:
        return SentWrite()
    import psycopg
    from psycopg import generators, pq

    dialect = session.get_bind().dialect
    clauses: list[str] = []
    params: list[bytes] = []
    for insert in inserts:
        columns = [*insert.names, *(name for name, _ in insert.same)]
        params.append(_json(insert.rows))
        rows = f"${len(params)}::jsonb"
        picks = [_pick("r", index, insert.table.c[name].type, dialect) for index, name in enumerate(insert.names)]
        if insert.same:
            params.append(_json([value for _, value in insert.same]))
            same = f"${len(params)}::jsonb"
            kinds = [insert.table.c[name].type for name, _ in insert.same]
            picks += [_pick(same, index, kind, dialect) for index, kind in enumerate(kinds)]
        listed = ", ".join(f'"{name}"' for name in columns)
        clauses.append(
            f'INSERT INTO "{insert.table.name}" ({listed}) '  # noqa: S608 - our tables and columns; values are parameters
            f"SELECT {', '.join(picks)} FROM jsonb_array_elements({rows}) AS r"
        )
    if unflushed:
        clauses.append("SELECT set_config('synchronous_commit', 'off', true)")
    *first, last = clauses
    statement = _chained(first, last)
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a live connection in the session's transaction
    try:
        with raw.lock:
            if not raw.autocommit and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE:
                # Nothing ran in the transaction yet: psycopg begins it with the first query it sends itself, and
                # this one it does not send.
                raw.pgconn.send_query(b"BEGIN")
                raw.wait(generators.execute(raw.pgconn))
            raw.pgconn.send_query_params(statement.encode(), params)
            raw.wait(generators.send(raw.pgconn))
    except psycopg.Error as error:  # raised as SQLAlchemy raises it for any statement (the connection lost...)
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error
    return _ServerWrite(raw, statement)


def _chained(first: Sequence[str], last: str) -> str:
    """The statements ``first`` as the data-modifying ``WITH`` clauses of ``last`` (all run, whatever reads them)."""
    if not first:
        return last
    return "WITH " + ", ".join(f"w{index} AS ({clause})" for index, clause in enumerate(first)) + " " + last


def _pick(array: str, index: int, column_type: TypeEngine[Any], dialect: Dialect) -> str:
    """The value at ``index`` of the JSON array ``array``, as the column's type: its text parsed as that type; a JSON
    column takes the JSON value itself (a JSON null as NULL, as ``COPY`` stores None)."""
    sql_type = column_type.compile(dialect=dialect)
    if isinstance(column_type, JSON):
        return f"NULLIF(({array})->{index}, 'null'::jsonb)::{sql_type}"
    return f"(({array})->>{index})::{sql_type}"


def _json(value: Any) -> bytes:
    """``value`` as JSON: ``orjson`` (dates and times as ISO text, which the server parses), or ``json.dumps`` for
    what it does not take (an integer beyond 64 bits)."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value, default=str).encode()
