"""delete policies: per actor type mapping, what a deletion on one side does on the other

Revision ID: 0012_delete_policies
Revises: 0011_conflict_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_delete_policies"
down_revision = "0011_conflict_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_actor_mappings") as batch:
        batch.add_column(sa.Column("erp_delete", sa.String(length=16), nullable=False, server_default="keep"))
        batch.add_column(sa.Column("crm_delete", sa.String(length=24), nullable=False, server_default="unlink"))


def downgrade() -> None:
    with op.batch_alter_table("sync_actor_mappings") as batch:
        batch.drop_column("crm_delete")
        batch.drop_column("erp_delete")
