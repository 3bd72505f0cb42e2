"""The SQL statements a block of a test sends to the database, as the driver is given them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from erpsync.storage.db import Database


@contextmanager
def statements_sent(database: Database) -> Iterator[list[str]]:
    """The statements sent while the block runs (the list grows as they are sent)."""
    sent: list[str] = []

    def record(_connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
