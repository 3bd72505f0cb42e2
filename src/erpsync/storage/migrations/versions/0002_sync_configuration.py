"""sync configuration: field mappings with defaults per actor type, list mappings, conflict policy per connection

Revision ID: 0002_sync_configuration
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_sync_configuration"
down_revision = "0001"
branch_labels = None
depends_on = None


def _connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["erp_connections.id"],
        name=op.f(f"fk_{table}_connection_id_erp_connections"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "sync_actor_mappings",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("fields_json", sa.JSON(), nullable=False),
        sa.Column("defaults_json", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _connection_fk("sync_actor_mappings"),
        sa.PrimaryKeyConstraint("connection_id", "actor_type", name=op.f("pk_sync_actor_mappings")),
    )
    op.create_table(
        "sync_list_mappings",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("list_name", sa.String(length=255), nullable=False),
        sa.Column("crm_list", sa.String(length=32), nullable=False),
        sa.Column("items_json", sa.JSON(), nullable=False),
        _connection_fk("sync_list_mappings"),
        sa.PrimaryKeyConstraint("connection_id", "list_name", name=op.f("pk_sync_list_mappings")),
    )
    op.create_table(
        "sync_connection_policies",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("no_blank_overwrite", sa.Boolean(), nullable=False),
        _connection_fk("sync_connection_policies"),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_sync_connection_policies")),
    )


def downgrade() -> None:
    for table in ("sync_connection_policies", "sync_list_mappings", "sync_actor_mappings"):
        op.drop_table(table)
