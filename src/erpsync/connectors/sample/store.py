"""The sample ERP's store: its SQLite schema, the ERP clock's stamps, password hashes, and the row-level reads and
writes behind ``erp.SampleErp``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from time import time_ns

from erpsync.errors import ConflictError, NotFoundError, ValidationError
from erpsync.protocol.models import Access, Actor, ActorType, FieldType, Value

from . import sales
from .fields import KIND_OF, KINDS, ActorField, RecordKind
from .language import TEXTS
from .values import Stored, from_stored, to_stored

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NUMBER_BASE = 10000
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


def fold(text: object) -> str | None:
    """Case folding that knows Æ, Ø, Å, Ä, Ö (SQLite's lower() only folds ASCII)."""
    return text.casefold() if isinstance(text, str) else None


def schema() -> str:
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
    return ";\n".join([*tables, *sales.SCHEMA]) + ";"


def _column(actor_field: ActorField) -> str:
    column_type = _COLUMN_TYPES.get(actor_field.type, "TEXT")
    if actor_field.type is FieldType.CHECKBOX:
        return f"{actor_field.key} {column_type} NOT NULL DEFAULT {int(bool(actor_field.default))}"
    return f"{actor_field.key} {column_type}"


def allocate_stamps(db: sqlite3.Connection, count: int) -> list[str]:
    """``count`` fresh stamps from the clock: now, or just after the last one handed out if the clock lags."""
    last: int = db.execute("SELECT last_us FROM clock").fetchone()[0]
    first = max(time_ns() // 1000, last + 1)
    db.execute("UPDATE clock SET last_us = ?", (first + count - 1,))
    return [format_stamp(first + offset) for offset in range(count)]


def created(stamp: str) -> str:
    """The creation time (whole seconds, like every datetime field) of a record first stamped ``stamp``."""
    return f"{stamp[:19]}Z"


def validated_columns(kind: RecordKind, values: Mapping[str, Value], *, creating: bool) -> dict[str, Stored]:
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
        raise ValidationError(TEXTS.text("mandatory field(s) missing or blank: {keys}", keys=", ".join(blank)))
    return columns


_DEFAULTS = {kind.table: {f.key: to_stored(f, f.default) for f in kind.fields if f.writable} for kind in KINDS}
"""Every writable column of each kind with its default, in the catalogue's order (the order inserts use)."""


def _blank(value: Stored) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def require_company(db: sqlite3.Connection, company: str) -> None:
    if db.execute("SELECT 1 FROM companies WHERE key = ?", (company,)).fetchone() is None:
        raise ValidationError(f"unknown ERP company {company!r}")


def parent_of(db: sqlite3.Connection, kind: RecordKind, company: str, record: NewRecord) -> int | None:
    if record.parent_key is None:
        if kind.parent_required:
            raise ValidationError(f"a {kind.actor_types[0]} needs a parent ({', '.join(kind.parent_types)})")
        return None
    if record.parent_type is None:
        raise ValidationError("parent_type is required with parent_key")
    return parent_id(db, kind, company, record.parent_type, record.parent_key)


def parent_id(db: sqlite3.Connection, kind: RecordKind, company: str, parent_type: ActorType, key: str) -> int:
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


def current_row(
    db: sqlite3.Connection, kind: RecordKind, company: str, actor_type: ActorType, key: str
) -> dict[str, Stored]:
    columns = ["parent_id", "last_modified", *(f.key for f in kind.fields if f.writable)]
    row = db.execute(
        f"SELECT {', '.join(columns)} FROM {kind.table} WHERE company = ? AND kind = ? AND id = ?",  # noqa: S608
        (company, actor_type.value, int(key) if key.isdigit() else -1),
    ).fetchone()
    if row is None:
        raise NotFoundError(TEXTS.text("{actor_type} {key} does not exist", actor_type=actor_type, key=key))
    return dict(zip(columns, row, strict=True))


def idempotent_key(db: sqlite3.Connection, company: str, actor_type: ActorType, idempotency_key: str) -> str | None:
    row = db.execute(
        "SELECT actor_type, actor_id FROM idempotency WHERE company = ? AND idempotency_key = ?",
        (company, idempotency_key),
    ).fetchone()
    if row is None:
        return None
    if row[0] != actor_type.value:
        raise ConflictError(f"idempotency key {idempotency_key} was already used to create a {row[0]}")
    return str(row[1])


def release_children(db: sqlite3.Connection, company: str, organisation_id: int) -> None:
    persons = [key for (key,) in db.execute("SELECT id FROM persons WHERE parent_id = ?", (organisation_id,))]
    delete_rows(db, company, ActorType.PERSON, KIND_OF[ActorType.PERSON], persons)
    projects = [key for (key,) in db.execute("SELECT id FROM projects WHERE parent_id = ?", (organisation_id,))]
    stamps = allocate_stamps(db, len(projects))
    db.executemany(
        "UPDATE projects SET parent_id = NULL, last_modified = ? WHERE id = ?", list(zip(stamps, projects, strict=True))
    )


def delete_rows(db: sqlite3.Connection, company: str, actor_type: ActorType, kind: RecordKind, ids: list[int]) -> None:
    stamps = allocate_stamps(db, len(ids))
    db.executemany(f"DELETE FROM {kind.table} WHERE id = ?", [(key,) for key in ids])  # noqa: S608
    db.executemany(
        "INSERT INTO tombstones (company, actor_type, id, deleted_at) VALUES (?, ?, ?, ?)",
        [(company, actor_type.value, key, stamp) for key, stamp in zip(ids, stamps, strict=True)],
    )


def scope(company: str, actor_type: ActorType) -> Where:
    return Where("t.company = ? AND t.kind = ?", (company, actor_type.value))


def select(kind: RecordKind, fields: Sequence[ActorField], *, by_id: bool = False) -> str:
    """``by_id``: the rows are picked by id. Then no index may be used, which leaves SQLite the rowid lookups; without
    statistics it would rather scan the whole company through the (company, kind, ...) index: a page of 500 keys cost
    as much as reading every record."""
    columns = "".join(f", t.{f.key}" for f in fields)
    return (
        f"SELECT t.id, t.last_modified, p.kind, t.parent_id{columns}"  # noqa: S608
        f" FROM {kind.table} t{' NOT INDEXED' if by_id else ''} LEFT JOIN organisations p ON p.id = t.parent_id"
    )


def ordered(kind: RecordKind) -> str:
    return ", ".join(f"fold(t.{column.strip()})" for column in kind.order_by.split(",")) + ", t.id"


def actor(actor_type: ActorType, fields: Sequence[ActorField], row: Sequence[Stored]) -> Actor:
    key, last_modified, parent_type, parent_id, *values = row
    return Actor(
        actor_type=actor_type,
        erp_key=str(key),
        last_modified=str(last_modified),
        parent_type=ActorType(str(parent_type)) if parent_type else None,
        parent_key=str(parent_id) if parent_id is not None else None,
        fields={f.key: from_stored(f, value) for f, value in zip(fields, values, strict=True)},
    )


NO_ID = -1
"""Below every record's id: ``(stamp, NO_ID)`` comes before every entry stamped ``stamp``."""


def change_entries(
    db: sqlite3.Connection,
    kind: RecordKind,
    company: str,
    actor_type: ActorType,
    *,
    since: str,
    after: tuple[str, int] | None,
    limit: int,
) -> list[ChangeEntry]:
    # One lower bound, (stamp, id), for both ``since`` and ``after``: the index seeks to it. With the two as separate
    # conditions SQLite seeks to ``since`` alone and steps over every entry before ``after``: a page further on
    # cost more, so reading every change was quadratic.
    after_stamp, after_id = max((since, NO_ID), after or ("", NO_ID))
    sql = (
        f"SELECT last_modified, id, 0 FROM {kind.table}"  # noqa: S608
        " WHERE company = ? AND kind = ? AND (last_modified, id) > (?, ?)"
        " UNION ALL SELECT deleted_at, id, 1 FROM tombstones"
        " WHERE company = ? AND actor_type = ? AND (deleted_at, id) > (?, ?)"
        " ORDER BY 1, 2 LIMIT ?"
    )
    scope = (company, actor_type.value, after_stamp, after_id)
    rows = db.execute(sql, (*scope, *scope, limit)).fetchall()
    return [ChangeEntry(stamp=stamp, key=key, deleted=bool(deleted)) for stamp, key, deleted in rows]
