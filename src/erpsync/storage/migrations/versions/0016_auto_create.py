"""automatic creation: its setting kept with the actor type's mapping, and the review list

Revision ID: 0016_auto_create
Revises: 0015_run_status_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_auto_create"
down_revision = "0015_run_status_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_actor_mappings") as batch:
        batch.add_column(sa.Column("auto_json", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    op.create_table(
        "auto_reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "connection_id", sa.Integer(), sa.ForeignKey("erp_connections.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("record_key", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("candidates_json", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.UniqueConstraint("connection_id", "actor_type", "side", "record_key", name="uq_auto_reviews_record"),
    )
    op.create_index("ix_auto_reviews_open", "auto_reviews", ["connection_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_auto_reviews_open", table_name="auto_reviews")
    op.drop_table("auto_reviews")
    with op.batch_alter_table("sync_actor_mappings") as batch:
        batch.drop_column("auto_json")
