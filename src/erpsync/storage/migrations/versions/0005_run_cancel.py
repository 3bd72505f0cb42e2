"""cancel of any run: sync_runs.cancel_requested, honoured by the engine and the jobs at the next page boundary

Revision ID: 0005_run_cancel
Revises: 0004_imports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_run_cancel"
down_revision = "0004_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server default fills the runs already in the history; new rows get the ORM's default.
    op.add_column("sync_runs", sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("cancel_requested")
