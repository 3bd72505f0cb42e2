"""the built-in CRM's active flag on companies, persons and projects (every existing record active)

Revision ID: 0016_crm_active
Revises: 0015_auto_create
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_crm_active"
down_revision = "0015_auto_create"
branch_labels = None
depends_on = None

_TABLES = ("companies", "persons", "projects")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("active")
