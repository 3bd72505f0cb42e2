"""the built-in CRM's active flag on companies, persons and projects (every existing record active)

Revision ID: 0017_crm_active
Revises: 0016_auto_create
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_crm_active"
down_revision = "0016_auto_create"
branch_labels = None
depends_on = None

_TABLES = ("companies", "persons", "projects")


def upgrade() -> None:
    # A plain ADD COLUMN, never a batch table copy: SQLite's copy would drop the tables' AUTOINCREMENT, and ids
    # would then be reused after a delete (a tombstone names one entity for good).
    for table in _TABLES:
        op.add_column(table, sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    for table in _TABLES:
        op.drop_column(table, "active")  # SQLite 3.35+ drops a column in place
