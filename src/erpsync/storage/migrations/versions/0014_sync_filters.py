"""sync filters: which records of an actor type sync at all, kept with the actor type's mapping

Revision ID: 0014_sync_filters
Revises: 0013_import_reason_codes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_sync_filters"
down_revision = "0013_import_reason_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_actor_mappings") as batch:
        batch.add_column(sa.Column("filter_json", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("sync_actor_mappings") as batch:
        batch.drop_column("filter_json")
