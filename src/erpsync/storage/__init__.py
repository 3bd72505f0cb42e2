"""Storage: SQLAlchemy tables (tables/, one module per area), engine and sessions (db.py), Alembic migrations
(migrate.py)."""
