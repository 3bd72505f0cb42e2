"""Alembic environment: runs migrations on the engine that ``erpsync.storage.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from erpsync.storage.tables import Base

engine: Engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
