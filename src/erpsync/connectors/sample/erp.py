"""The sample ERP: its SQLite schema and data access, including the writes "ERP users" make (tests use them).

Every write stamps the records it touches with ``last_modified`` from the ERP's clock: ISO 8601 UTC with
microseconds, strictly increasing across the whole ERP, so changes can be read back in order. Deleted records leave
a tombstone stamped the same way. One connection guarded by a lock serves all threads; WAL lets other processes
(the seed command) read and write the same file meanwhile.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from time import time_ns

from erpsync.errors import ConflictError, NotFoundError, ValidationError
from erpsync.protocol.models import Access, Actor, ActorType, FieldType, Value

from .fields import KIND_OF, KINDS, ORGANISATION, ActorField, RecordKind
from .values import Stored, from_stored, to_stored

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER_BASE = 10000
PASSWORD_ITERATIONS = 120_000  # tests pass fewer: the hash's cost is not what they test
_COLUMN_TYPES = {FieldType.DOUBLE: "REAL", FieldType.INTEGER: "INTEGER", FieldType.CHECKBOX: "INTEGER"}


def format_stamp(microseconds: int) -> str:
    return (_EPOCH + timedelta(microseconds=microseconds)).strftime(STAMP_FORMAT)


@dataclass(frozen=True)
class Where:
    """A SQL condition on the table aliased ``t`` with its parameters; built only from catalogue column names."""

    sql: str = "1"
    params: tuple[Stored, ...] = ()

    def __and__(self, other: Where) -> Where:
        return Where(f"({self.sql}) AND ({other.sql})", self.params + other.params)


@dataclass(frozen=True)
class NewRecord:
    """A record to insert: field values and, for persons and projects, the parent organisation's key."""

    values: Mapping[str, Value]
    parent_key: str | None = None
    parent_type: ActorType | None = None


@dataclass(frozen=True)
class ChangeEntry:
    """A record that changed (``deleted`` False) or was deleted, at ``stamp``."""

    stamp: str
    key: int
    deleted: bool


@dataclass
class ChangesPage:
    entries: list[ChangeEntry]
    actors: dict[str, Actor] = field(default_factory=dict)
    next_since: str = ""  # just after the last stamp the ERP had handed out when the page was read


class SampleErp:
    """The ERP database in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.create_function("fold", 1, _fold, deterministic=True)
        with self._lock:
            self._db.executescript(f"BEGIN IMMEDIATE; {_schema()} COMMIT;")

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
        password_hash = hash_password(password, iterations=iterations)
        with self._write() as db:
            db.execute("INSERT INTO users (login, password_hash) VALUES (?, ?)", (login, password_hash))

    def set_password(self, login: str, password: str) -> None:
        with self._write() as db:
            db.execute("UPDATE users SET password_hash = ? WHERE login = ?", (hash_password(password), login))

    def authenticate(self, login: str, password: str) -> bool:
        with self._read() as db:
            row = db.execute("SELECT password_hash FROM users WHERE login = ?", (login,)).fetchone()
        return row is not None and password_matches(row[0], password)

    # --- writes -----------------------------------------------------------------------------------------------------

    def create_actor(
        self, company: str, actor_type: ActorType, record: NewRecord, *, idempotency_key: str | None = None
    ) -> str:
        """Insert a record and return its key; with an ``idempotency_key`` already used, the key it created then."""
        with self._write() as db:
            if idempotency_key is not None:
                earlier = _idempotent_key(db, company, actor_type, idempotency_key)
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
        parent: tuple[ActorType, str] | None = None,
    ) -> bool:
        """Write the given fields (and parent); returns whether anything changed (only then is it re-stamped)."""
        kind = KIND_OF[actor_type]
        with self._write() as db:
            current = _current_row(db, kind, company, actor_type, key)
            columns = _validated_columns(kind, values, creating=False)
            if parent is not None:
                columns["parent_id"] = _parent_id(db, kind, company, *parent)
            changed = {column: value for column, value in columns.items() if current[column] != value}
            if not changed:
                return False
            changed["last_modified"] = _allocate_stamps(db, 1)[0]
            assignments = ", ".join(f"{column} = ?" for column in changed)
            db.execute(f"UPDATE {kind.table} SET {assignments} WHERE id = ?", (*changed.values(), int(key)))  # noqa: S608
            return True

    def delete_actor(self, company: str, actor_type: ActorType, key: str) -> None:
        """Delete a record, leaving a tombstone; an organisation takes its persons along and lets go of projects."""
        kind = KIND_OF[actor_type]
        with self._write() as db:
            _current_row(db, kind, company, actor_type, key)
            if kind is ORGANISATION:
                _release_children(db, company, int(key))
            _delete_rows(db, company, actor_type, kind, [int(key)])

    def _insert(
        self, db: sqlite3.Connection, company: str, actor_type: ActorType, records: Sequence[NewRecord]
    ) -> list[str]:
        kind = KIND_OF[actor_type]
        _require_company(db, company)
        stamps = _allocate_stamps(db, len(records))
        writable = [f for f in kind.fields if f.writable]
        columns = ["company", "kind", "parent_id", "last_modified", "created", *(f.key for f in writable)]
        rows = [
            (
                company,
                actor_type.value,
                _parent_of(db, kind, company, record),
                stamp,
                _created(stamp),
                *_validated_columns(kind, record.values, creating=True).values(),
            )
            for record, stamp in zip(records, stamps, strict=True)
        ]
        before = db.execute(f"SELECT coalesce(max(id), 0) FROM {kind.table}").fetchone()[0]  # noqa: S608
        marks = ", ".join("?" for _ in columns)
        db.executemany(f"INSERT INTO {kind.table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608
        db.execute(
            f"UPDATE {kind.table} SET number = ? || (? + id) WHERE id > ?",  # noqa: S608
            (kind.number_prefix, _NUMBER_BASE, before),
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
        scope = _scope(company, actor_type) & where
        sql = f"{_select(kind, fields, by_id=by_id)} WHERE {scope.sql} ORDER BY {_ordered(kind)} LIMIT ?"
        with self._read() as db:
            rows = db.execute(sql, (*scope.params, limit)).fetchall()
        return {actor.erp_key or "": actor for actor in (_actor(actor_type, fields, row) for row in rows)}

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
            entries = _change_entries(db, kind, company, actor_type, since=since, after=after, limit=limit)
            changed = [entry.key for entry in entries if not entry.deleted]
            marks = ", ".join("?" for _ in changed)
            scope = _scope(company, actor_type) & Where(f"t.id IN ({marks})", tuple(changed))
            rows = db.execute(f"{_select(kind, fields, by_id=True)} WHERE {scope.sql}", scope.params).fetchall()
            next_since = format_stamp(db.execute("SELECT last_us FROM clock").fetchone()[0] + 1)
        actors = {actor.erp_key or "": actor for actor in (_actor(actor_type, fields, row) for row in rows)}
        return ChangesPage(entries=entries, actors=actors, next_since=next_since)

    def count(self, actor_type: ActorType, company: str | None = None) -> int:
        kind = KIND_OF[actor_type]
        scope = _scope(company, actor_type) if company else Where("t.kind = ?", (actor_type.value,))
        sql = f"SELECT count(*) FROM {kind.table} t WHERE {scope.sql}"  # noqa: S608
        with self._read() as db:
            count: int = db.execute(sql, scope.params).fetchone()[0]
        return count


# --- passwords ------------------------------------------------------------------------------------------------------


def hash_password(password: str, *, iterations: int = PASSWORD_ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


@lru_cache(maxsize=256)
def password_matches(password_hash: str, password: str) -> bool:
    """Cached because connections re-check their credentials on every request and the hash is slow on purpose."""
    _, iterations, salt, expected = password_hash.split("$")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(digest.hex(), expected)


# --- helpers --------------------------------------------------------------------------------------------------------


def _fold(text: object) -> str | None:
    """Case folding that knows Æ, Ø, Å, Ä, Ö (SQLite's lower() only folds ASCII)."""
    return text.casefold() if isinstance(text, str) else None


def _schema() -> str:
    tables = [
        "CREATE TABLE IF NOT EXISTS companies (key TEXT PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS users (login TEXT PRIMARY KEY, password_hash TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), last_us INTEGER NOT NULL)",
        "INSERT OR IGNORE INTO clock (id, last_us) VALUES (1, 0)",
        "CREATE TABLE IF NOT EXISTS tombstones (company TEXT NOT NULL, actor_type TEXT NOT NULL,"
        " id INTEGER NOT NULL, deleted_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS tombstones_order ON tombstones (company, actor_type, deleted_at, id)",
        "CREATE TABLE IF NOT EXISTS idempotency (company TEXT NOT NULL, idempotency_key TEXT NOT NULL,"
        " actor_type TEXT NOT NULL, actor_id INTEGER NOT NULL, PRIMARY KEY (company, idempotency_key))",
    ]
    for kind in KINDS:
        columns = ", ".join(_column(f) for f in kind.fields)
        tables += [
            f"CREATE TABLE IF NOT EXISTS {kind.table} (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " company TEXT NOT NULL REFERENCES companies (key), kind TEXT NOT NULL,"
            " parent_id INTEGER REFERENCES organisations (id), last_modified TEXT NOT NULL,"
            f" {columns})",
            f"CREATE INDEX IF NOT EXISTS {kind.table}_changes ON {kind.table} (company, kind, last_modified, id)",
            f"CREATE INDEX IF NOT EXISTS {kind.table}_parent ON {kind.table} (parent_id)",
        ]
    return ";\n".join(tables) + ";"


def _column(actor_field: ActorField) -> str:
    column_type = _COLUMN_TYPES.get(actor_field.type, "TEXT")
    if actor_field.type is FieldType.CHECKBOX:
        return f"{actor_field.key} {column_type} NOT NULL DEFAULT {int(bool(actor_field.default))}"
    return f"{actor_field.key} {column_type}"


def _allocate_stamps(db: sqlite3.Connection, count: int) -> list[str]:
    """``count`` fresh stamps from the clock: now, or just after the last one handed out if the clock lags."""
    last: int = db.execute("SELECT last_us FROM clock").fetchone()[0]
    first = max(time_ns() // 1000, last + 1)
    db.execute("UPDATE clock SET last_us = ?", (first + count - 1,))
    return [format_stamp(first + offset) for offset in range(count)]


def _created(stamp: str) -> str:
    """The creation time (whole seconds, like every datetime field) of a record first stamped ``stamp``."""
    return f"{stamp[:19]}Z"


def _validated_columns(kind: RecordKind, values: Mapping[str, Value], *, creating: bool) -> dict[str, Stored]:
    """Column values for a write; ``ValidationError`` names the first field that is unknown, read-only or wrong."""
    fields = kind.select_fields(list(values))
    read_only = [f.key for f in fields if not f.writable]
    if read_only:
        raise ValidationError(f"read-only field(s) cannot be written: {', '.join(read_only)}")
    columns = {f.key: to_stored(f, values[f.key]) for f in fields}
    if creating:
        columns = {**_DEFAULTS[kind.table], **columns}
    blank = [f.key for f in kind.fields if f.access is Access.MANDATORY and f.key in columns and _blank(columns[f.key])]
    if blank:
        raise ValidationError(f"mandatory field(s) missing or blank: {', '.join(blank)}")
    return columns


_DEFAULTS = {kind.table: {f.key: to_stored(f, f.default) for f in kind.fields if f.writable} for kind in KINDS}
"""Every writable column of each kind with its default, in the catalogue's order (the order inserts use)."""


def _blank(value: Stored) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _require_company(db: sqlite3.Connection, company: str) -> None:
    if db.execute("SELECT 1 FROM companies WHERE key = ?", (company,)).fetchone() is None:
        raise ValidationError(f"unknown ERP company {company!r}")


def _parent_of(db: sqlite3.Connection, kind: RecordKind, company: str, record: NewRecord) -> int | None:
    if record.parent_key is None:
        if kind.parent_required:
            raise ValidationError(f"a {kind.actor_types[0]} needs a parent ({', '.join(kind.parent_types)})")
        return None
    if record.parent_type is None:
        raise ValidationError("parent_type is required with parent_key")
    return _parent_id(db, kind, company, record.parent_type, record.parent_key)


def _parent_id(db: sqlite3.Connection, kind: RecordKind, company: str, parent_type: ActorType, key: str) -> int:
    if parent_type not in kind.parent_types:
        allowed = ", ".join(kind.parent_types) or "none"
        raise ValidationError(f"a {kind.actor_types[0]} cannot have a {parent_type} parent (allowed: {allowed})")
    row = db.execute(
        "SELECT id FROM organisations WHERE company = ? AND kind = ? AND id = ?",
        (company, parent_type.value, int(key) if key.isdigit() else -1),
    ).fetchone()
    if row is None:
        raise ValidationError(f"parent {parent_type} {key} does not exist")
    parent: int = row[0]
    return parent


def _current_row(
    db: sqlite3.Connection, kind: RecordKind, company: str, actor_type: ActorType, key: str
) -> dict[str, Stored]:
    columns = ["parent_id", *(f.key for f in kind.fields if f.writable)]
    row = db.execute(
        f"SELECT {', '.join(columns)} FROM {kind.table} WHERE company = ? AND kind = ? AND id = ?",  # noqa: S608
        (company, actor_type.value, int(key) if key.isdigit() else -1),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"{actor_type} {key} does not exist")
    return dict(zip(columns, row, strict=True))


def _idempotent_key(db: sqlite3.Connection, company: str, actor_type: ActorType, idempotency_key: str) -> str | None:
    row = db.execute(
        "SELECT actor_type, actor_id FROM idempotency WHERE company = ? AND idempotency_key = ?",
        (company, idempotency_key),
    ).fetchone()
    if row is None:
        return None
    if row[0] != actor_type.value:
        raise ConflictError(f"idempotency key {idempotency_key} was already used to create a {row[0]}")
    return str(row[1])


def _release_children(db: sqlite3.Connection, company: str, organisation_id: int) -> None:
    persons = [key for (key,) in db.execute("SELECT id FROM persons WHERE parent_id = ?", (organisation_id,))]
    _delete_rows(db, company, ActorType.PERSON, KIND_OF[ActorType.PERSON], persons)
    projects = [key for (key,) in db.execute("SELECT id FROM projects WHERE parent_id = ?", (organisation_id,))]
    stamps = _allocate_stamps(db, len(projects))
    db.executemany(
        "UPDATE projects SET parent_id = NULL, last_modified = ? WHERE id = ?", list(zip(stamps, projects, strict=True))
    )


def _delete_rows(db: sqlite3.Connection, company: str, actor_type: ActorType, kind: RecordKind, ids: list[int]) -> None:
    stamps = _allocate_stamps(db, len(ids))
    db.executemany(f"DELETE FROM {kind.table} WHERE id = ?", [(key,) for key in ids])  # noqa: S608
    db.executemany(
        "INSERT INTO tombstones (company, actor_type, id, deleted_at) VALUES (?, ?, ?, ?)",
        [(company, actor_type.value, key, stamp) for key, stamp in zip(ids, stamps, strict=True)],
    )


def _scope(company: str, actor_type: ActorType) -> Where:
    return Where("t.company = ? AND t.kind = ?", (company, actor_type.value))


def _select(kind: RecordKind, fields: Sequence[ActorField], *, by_id: bool = False) -> str:
    """``by_id``: the rows are picked by id. Then no index may be used, which leaves SQLite the rowid lookups; without
    statistics it would rather scan the whole company through the (company, kind, ...) index: a page of 500 keys cost
    as much as reading every record."""
    columns = "".join(f", t.{f.key}" for f in fields)
    return (
        f"SELECT t.id, t.last_modified, p.kind, t.parent_id{columns}"  # noqa: S608
        f" FROM {kind.table} t{' NOT INDEXED' if by_id else ''} LEFT JOIN organisations p ON p.id = t.parent_id"
    )


def _ordered(kind: RecordKind) -> str:
    return ", ".join(f"fold(t.{column.strip()})" for column in kind.order_by.split(",")) + ", t.id"


def _actor(actor_type: ActorType, fields: Sequence[ActorField], row: Sequence[Stored]) -> Actor:
    key, last_modified, parent_type, parent_id, *values = row
    return Actor(
        actor_type=actor_type,
        erp_key=str(key),
        last_modified=str(last_modified),
        parent_type=ActorType(str(parent_type)) if parent_type else None,
        parent_key=str(parent_id) if parent_id is not None else None,
        fields={f.key: from_stored(f, value) for f, value in zip(fields, values, strict=True)},
    )


def _change_entries(
    db: sqlite3.Connection,
    kind: RecordKind,
    company: str,
    actor_type: ActorType,
    *,
    since: str,
    after: tuple[str, int] | None,
    limit: int,
) -> list[ChangeEntry]:
    after_stamp, after_id = after or ("", 0)
    sql = (
        f"SELECT last_modified, id, 0 FROM {kind.table}"  # noqa: S608
        " WHERE company = ? AND kind = ? AND last_modified >= ? AND (last_modified, id) > (?, ?)"
        " UNION ALL SELECT deleted_at, id, 1 FROM tombstones"
        " WHERE company = ? AND actor_type = ? AND deleted_at >= ? AND (deleted_at, id) > (?, ?)"
        " ORDER BY 1, 2 LIMIT ?"
    )
    scope = (company, actor_type.value, since, after_stamp, after_id)
    rows = db.execute(sql, (*scope, *scope, limit)).fetchall()
    return [ChangeEntry(stamp=stamp, key=key, deleted=bool(deleted)) for stamp, key, deleted in rows]
