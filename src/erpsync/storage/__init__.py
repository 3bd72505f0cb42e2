"""Storage: SQLAlchemy tables (tables.py), engine and sessions (db.py), Alembic migrations (migrate.py)."""
