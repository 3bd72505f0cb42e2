"""The sample ERP: its SQLite schema and data access, including the writes "ERP users" make (tests use them).

Every write stamps the records it touches with ``last_modified`` from the ERP's clock: ISO 8601 UTC with
microseconds, strictly increasing across the whole ERP, so changes can be read back in order. Deleted records leave
a tombstone stamped the same way. One connection guarded by a lock serves all threads; WAL lets other processes
(the seed command) read and write the same file meanwhile.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from erpsync.errors import ConflictError
from erpsync.protocol import documents as d
from erpsync.protocol.models import Actor, ActorType, Value
from erpsync.sdk.watch import ChangeSignal

from . import sales, store, watch
from .fields import KIND_OF, ORGANISATION, ActorField
from .language import TEXTS
from .store import PASSWORD_ITERATIONS, STAMP_FORMAT, ChangeEntry, NewRecord, Where, format_stamp

KEEP_PARENT: Final[Literal["keep"]] = "keep"
"""``update_actor(parent=KEEP_PARENT)``: leave the parent as it is (None clears it)."""

__all__ = [
    "PASSWORD_ITERATIONS",
    "STAMP_FORMAT",
    "ChangeEntry",
    "ChangesPage",
    "NewRecord",
    "SampleErp",
    "Where",
    "format_stamp",
]


@dataclass
class ChangesPage:
    entries: list[ChangeEntry]
    actors: dict[str, Actor] = field(default_factory=dict)
    next_since: str = ""  # just after the last stamp the ERP had handed out when the page was read


class SampleErp:
    """The ERP database in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        # Raised after each write commits, it wakes the watches; their look every half second finds other processes'.
        self.signal = ChangeSignal(poll_seconds=0.5)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.create_function("fold", 1, store.fold, deterministic=True)
        with self._lock:
            self._db.executescript(f"BEGIN IMMEDIATE; {store.schema()} COMMIT;")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it or nothing."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        self.signal.changed()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction, so several queries see the same snapshot."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    # --- companies and users ----------------------------------------------------------------------------------------

    def add_company(self, key: str, name: str) -> None:
        with self._write() as db:
            db.execute("INSERT INTO companies (key, name) VALUES (?, ?)", (key, name))

    def companies(self) -> list[tuple[str, str]]:
        with self._read() as db:
            return [(key, name) for key, name in db.execute("SELECT key, name FROM companies ORDER BY key")]

    def is_empty(self) -> bool:
        return not self.companies()

    def add_user(self, login: str, password: str, *, iterations: int = PASSWORD_ITERATIONS) -> None:
        password_hash = store.hash_password(password, iterations=iterations)
        with self._write() as db:
            db.execute("INSERT INTO users (login, password_hash) VALUES (?, ?)", (login, password_hash))

    def set_password(self, login: str, password: str) -> None:
        with self._write() as db:
            db.execute("UPDATE users SET password_hash = ? WHERE login = ?", (store.hash_password(password), login))

    def authenticate(self, login: str, password: str) -> bool:
        with self._read() as db:
            row = db.execute("SELECT password_hash FROM users WHERE login = ?", (login,)).fetchone()
        return row is not None and store.password_matches(row[0], password)

    # --- writes -----------------------------------------------------------------------------------------------------

    def create_actor(
        self, company: str, actor_type: ActorType, record: NewRecord, *, idempotency_key: str | None = None
    ) -> str:
        """Insert a record and return its key; with an ``idempotency_key`` already used, the key it created then."""
        with self._write() as db:
            if idempotency_key is not None:
                earlier = store.idempotent_key(db, company, actor_type, idempotency_key)
                if earlier is not None:
                    return earlier
            key = self._insert(db, company, actor_type, [record])[0]
            if idempotency_key is not None:
                db.execute(
                    "INSERT INTO idempotency (company, idempotency_key, actor_type, actor_id) VALUES (?, ?, ?, ?)",
                    (company, idempotency_key, actor_type.value, int(key)),
                )
            return key

    def insert_many(self, company: str, actor_type: ActorType, records: Sequence[NewRecord]) -> list[str]:
        """Insert many records in one transaction (seed data, benchmarks); returns their keys in order."""
        with self._write() as db:
            return self._insert(db, company, actor_type, records)

    def update_actor(
        self,
        company: str,
        actor_type: ActorType,
        key: str,
        values: Mapping[str, Value],
        *,
        parent: tuple[ActorType, str] | Literal["keep"] | None = KEEP_PARENT,
        last_modified: str | None = None,
    ) -> bool:
        """Write the given fields and parent (None clears it); returns whether anything changed (only then is it
        re-stamped). With ``last_modified`` (as the caller read it) a record changed since is a ``ConflictError`` -
        unless it holds the given values already (a retried save whose answer was lost): nothing is overwritten."""
        kind = KIND_OF[actor_type]
        with self._write() as db:
            current = store.current_row(db, kind, company, actor_type, key)
            columns = store.validated_columns(kind, values, creating=False)
            if parent != KEEP_PARENT:
                columns["parent_id"] = None if parent is None else store.parent_id(db, kind, company, *parent)
            changed = {column: value for column, value in columns.items() if current[column] != value}
            if not changed:
                return False
            if last_modified is not None and current["last_modified"] != last_modified:
                raise ConflictError(
                    TEXTS.text(
                        "{actor_type} {key} was changed in the ERP since it was read", actor_type=actor_type, key=key
                    )
                )
            changed["last_modified"] = store.allocate_stamps(db, 1)[0]
            assignments = ", ".join(f"{column} = ?" for column in changed)
            db.execute(f"UPDATE {kind.table} SET {assignments} WHERE id = ?", (*changed.values(), int(key)))  # noqa: S608
            return True

    def delete_actor(self, company: str, actor_type: ActorType, key: str) -> None:
        """Delete a record, leaving a tombstone; an organisation takes its persons along and lets go of projects."""
        kind = KIND_OF[actor_type]
        with self._write() as db:
            store.current_row(db, kind, company, actor_type, key)
            if kind is ORGANISATION:
                store.release_children(db, company, int(key))
            store.delete_rows(db, company, actor_type, kind, [int(key)])

    def _insert(
        self, db: sqlite3.Connection, company: str, actor_type: ActorType, records: Sequence[NewRecord]
    ) -> list[str]:
        kind = KIND_OF[actor_type]
        store.require_company(db, company)
        stamps = store.allocate_stamps(db, len(records))
        writable = [f for f in kind.fields if f.writable]
        columns = ["company", "kind", "parent_id", "last_modified", "created", *(f.key for f in writable)]
        rows = [
            (
                company,
                actor_type.value,
                store.parent_of(db, kind, company, record),
                stamp,
                store.created(stamp),
                *store.validated_columns(kind, record.values, creating=True).values(),
            )
            for record, stamp in zip(records, stamps, strict=True)
        ]
        before = db.execute(f"SELECT coalesce(max(id), 0) FROM {kind.table}").fetchone()[0]  # noqa: S608
        marks = ", ".join("?" for _ in columns)
        db.executemany(f"INSERT INTO {kind.table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608
        db.execute(
            f"UPDATE {kind.table} SET number = ? || (? + id) WHERE id > ?",  # noqa: S608
            (kind.number_prefix, store.NUMBER_BASE, before),
        )
        return [str(key) for (key,) in db.execute(f"SELECT id FROM {kind.table} WHERE id > ? ORDER BY id", (before,))]  # noqa: S608

    # --- reads ------------------------------------------------------------------------------------------------------

    def fetch(
        self, company: str, actor_type: ActorType, keys: Sequence[str], fields: Sequence[ActorField]
    ) -> dict[str, Actor]:
        """The records among ``keys`` that exist, by key, with the given fields."""
        ids = [int(key) for key in keys if key.isdigit()]
        marks = ", ".join("?" for _ in ids)
        where = Where(f"t.id IN ({marks})", tuple(ids))
        return self.query(company, actor_type, where, fields, limit=len(ids), by_id=True)

    def query(
        self,
        company: str,
        actor_type: ActorType,
        where: Where,
        fields: Sequence[ActorField],
        *,
        limit: int,
        by_id: bool = False,
    ) -> dict[str, Actor]:
        """Records matching ``where``, in the kind's natural order (name), by key; ``by_id`` when ``where`` picks
        records by id."""
        kind = KIND_OF[actor_type]
        scope = store.scope(company, actor_type) & where
        sql = f"{store.select(kind, fields, by_id=by_id)} WHERE {scope.sql} ORDER BY {store.ordered(kind)} LIMIT ?"
        with self._read() as db:
            rows = db.execute(sql, (*scope.params, limit)).fetchall()
        return {actor.erp_key or "": actor for actor in (store.actor(actor_type, fields, row) for row in rows)}

    def changes(
        self,
        company: str,
        actor_type: ActorType,
        *,
        since: str,
        after: tuple[str, int] | None,
        fields: Sequence[ActorField],
        limit: int,
    ) -> ChangesPage:
        """Up to ``limit`` changes and deletions stamped at or after ``since`` and after ``after``, in stamp order."""
        kind = KIND_OF[actor_type]
        with self._read() as db:
            entries = store.change_entries(db, kind, company, actor_type, since=since, after=after, limit=limit)
            changed = [entry.key for entry in entries if not entry.deleted]
            marks = ", ".join("?" for _ in changed)
            scope = store.scope(company, actor_type) & Where(f"t.id IN ({marks})", tuple(changed))
            rows = db.execute(f"{store.select(kind, fields, by_id=True)} WHERE {scope.sql}", scope.params).fetchall()
            next_since = store.format_stamp(db.execute("SELECT last_us FROM clock").fetchone()[0] + 1)
        actors = {actor.erp_key or "": actor for actor in (store.actor(actor_type, fields, row) for row in rows)}
        return ChangesPage(entries=entries, actors=actors, next_since=next_since)

    def watch_page(
        self, company: str, actor_types: Sequence[ActorType], *, since: str | None, limit: int
    ) -> watch.WatchPage:
        """Up to ``limit`` records changed or deleted at or after ``since`` (None: now), in stamp order."""
        with self._read() as db:
            start = watch.current_position(db) if since is None else watch.position(since)
            return watch.changed_since(db, company, actor_types, since=start, limit=limit)

    def count(self, actor_type: ActorType, company: str | None = None) -> int:
        kind = KIND_OF[actor_type]
        scope = store.scope(company, actor_type) if company else Where("t.kind = ?", (actor_type.value,))
        sql = f"SELECT count(*) FROM {kind.table} t WHERE {scope.sql}"  # noqa: S608
        with self._read() as db:
            count: int = db.execute(sql, scope.params).fetchone()[0]
        return count

    # --- sales documents --------------------------------------------------------------------------------------------

    def has_documents(self) -> bool:
        with self._read() as db:
            return db.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is not None

    def add_documents(self, company: str, documents: Sequence[sales.NewDocument]) -> None:
        """Insert documents with their lines in one transaction (seed data, tests, benchmarks)."""
        with self._write() as db:
            sales.insert(db, company, documents)

    def documents(self, company: str, actor_type: ActorType, key: str, filters: d.DocumentFilters) -> list[d.Document]:
        """The documents of an actor that pass ``filters``; ``NotFoundError`` when the actor does not exist."""
        with self._read() as db:
            store.current_row(db, KIND_OF[actor_type], company, actor_type, key)
            return sales.documents_of(db, company, actor_type, int(key), filters)

    def document_lines(
        self, company: str, actor_type: ActorType, key: str, document_key: str
    ) -> tuple[d.Document, list[d.DocumentLine]] | None:
        """A document of the actor with its lines; None when the actor has no such document."""
        with self._read() as db:
            store.current_row(db, KIND_OF[actor_type], company, actor_type, key)
            document = sales.document(db, company, actor_type, int(key), document_key)
            return None if document is None else (document, sales.lines_of(db, document_key))

    def balance(self, company: str, actor_type: ActorType, key: str, *, today: dt.date) -> d.Balance:
        """What the actor owes, in its currency (a project: its customer's); the credit limit of an organisation."""
        project = actor_type is ActorType.PROJECT
        with self._read() as db:
            row = store.current_row(db, KIND_OF[actor_type], company, actor_type, key)
            organisation = row["parent_id"] if project else int(key)
            found = db.execute("SELECT currency, credit_limit FROM organisations WHERE id = ?", (organisation,))
            currency, limit = found.fetchone() or (None, None)
            open_total, overdue = sales.balance_of(db, company, actor_type, int(key), today=today)
        return d.Balance(
            currency=currency or sales.DEFAULT_CURRENCY,
            open=str(open_total),
            overdue=str(overdue),
            credit_limit=None if project or limit is None else sales.money(limit),
        )
