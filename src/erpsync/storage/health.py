"""Is the database ready to serve: reachable, and its schema at the newest migration.

Used by the readiness probe (``/readyz``); it reads only (a read-only connection, ``SELECT 1`` and Alembic's version
table), so a probe neither waits for nor blocks the writers.

Public names: ``database_problem(db)``, ``newest_revision()``.
"""

from __future__ import annotations

from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy import text

from erpsync.storage.db import Database
from erpsync.storage.migrate import MIGRATIONS_DIR


@cache
def newest_revision() -> str | None:
    """The head of the migrations this code ships: read from their files once per process, not on every probe."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def database_problem(db: Database) -> str | None:
    """None when the database answers and is migrated to the newest revision; otherwise what is wrong, in words that
    name no server, user or password."""
    try:
        with db.read_sessions() as session, session.begin():
            connection = session.connection()
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except sqlalchemy_exc.SQLAlchemyError as error:
        cause = error.orig if isinstance(error, sqlalchemy_exc.DBAPIError) else error
        return f"database not reachable ({type(cause).__name__})"
    newest = newest_revision()
    if current != newest:
        return f"database schema at {current or 'no revision'}, the hub needs {newest}: run `erpsync db upgrade`"
    return None
