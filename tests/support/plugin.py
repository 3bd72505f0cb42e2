"""Fixtures for every folder: ``database`` runs a test on SQLite and on PostgreSQL, ``postgres_url`` is a fresh
PostgreSQL database for the session and ``sqlite_template`` a migrated SQLite file copied for each test."""

from erpsync.testing.db import database, postgres_url, sqlite_template

__all__ = ["database", "postgres_url", "sqlite_template"]
