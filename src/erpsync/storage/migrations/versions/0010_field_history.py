"""the field history (every synced field's change with its writer, old and new value), indexed by record and time;
runs say who started them and which run undid them; the engine settings keep the history's retention; a resync says
the side whose values it pushes

Revision ID: 0010_field_history
Revises: 0009_operations_alerts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_field_history"
down_revision = "0009_operations_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("actor_type", sa.String(length=32), nullable=True),
        sa.Column("erp_key", sa.String(length=255), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("field", sa.String(length=255), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("written_by", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_changes")),
    )
    op.create_index("ix_field_changes_record", "field_changes", ["entity_type", "entity_id", "at"])
    op.create_index("ix_field_changes_at", "field_changes", ["at"])
    op.create_index("ix_field_changes_run", "field_changes", ["run_id"])
    op.add_column("sync_runs", sa.Column("undone_by", sa.Integer(), nullable=True))
    op.add_column("sync_runs", sa.Column("started_by", sa.Integer(), nullable=True))
    op.add_column("sync_jobs", sa.Column("resync_from", sa.String(length=8), nullable=False, server_default="crm"))
    op.add_column("engine_state", sa.Column("history_days", sa.Integer(), nullable=False, server_default="365"))


def downgrade() -> None:
    with op.batch_alter_table("engine_state") as batch:
        batch.drop_column("history_days")
    with op.batch_alter_table("sync_jobs") as batch:
        batch.drop_column("resync_from")
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("started_by")
        batch.drop_column("undone_by")
    op.drop_table("field_changes")
