"""runs by status: the scheduler looks up the runs still running (to close those whose process died) every tick

Revision ID: 0015_run_status_index
Revises: 0014_sync_filters
"""

from __future__ import annotations

from alembic import op

revision = "0015_run_status_index"
down_revision = "0014_sync_filters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_sync_runs_status"), "sync_runs", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sync_runs_status"), table_name="sync_runs")
