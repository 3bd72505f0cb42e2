"""Fixtures: ``database`` runs each test on SQLite and on PostgreSQL."""

from erpsync.testing.db import database, postgres_url, sqlite_template

__all__ = ["database", "postgres_url", "sqlite_template"]
