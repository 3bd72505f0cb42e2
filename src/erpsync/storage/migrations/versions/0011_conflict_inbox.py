"""the conflict inbox: conflicts on fields whose policy is ask wait for a person to choose

Revision ID: 0011_conflict_inbox
Revises: 0010_field_history
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_conflict_inbox"
down_revision = "0010_field_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("link_id", sa.Integer(), sa.ForeignKey("erp_links.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "connection_id", sa.Integer(), sa.ForeignKey("erp_connections.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=255), nullable=False),
        sa.Column("agreed_value", sa.JSON(), nullable=True),
        sa.Column("crm_value", sa.JSON(), nullable=True),
        sa.Column("erp_value", sa.JSON(), nullable=True),
        sa.Column("crm_changed_by", sa.String(length=64), nullable=False),
        sa.Column("crm_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erp_changed_at", sa.String(length=64), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution", sa.String(length=8), nullable=True),
    )
    op.create_index("ix_sync_conflicts_link_field", "sync_conflicts", ["link_id", "field"])
    op.create_index("ix_sync_conflicts_open", "sync_conflicts", ["resolved_at", "connection_id"])


def downgrade() -> None:
    op.drop_table("sync_conflicts")
