"""the retry pass looks failing links up by (connection, state, next attempt) instead of scanning the connection's

Revision ID: 0006_link_retry_index
Revises: 0005_run_cancel
"""

from __future__ import annotations

from alembic import op

revision = "0006_link_retry_index"
down_revision = "0005_run_cancel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_erp_links_next_attempt_at", table_name="erp_links")
    op.create_index("ix_erp_links_retry", "erp_links", ["connection_id", "state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_erp_links_retry", table_name="erp_links")
    op.create_index("ix_erp_links_next_attempt_at", "erp_links", ["next_attempt_at"])
