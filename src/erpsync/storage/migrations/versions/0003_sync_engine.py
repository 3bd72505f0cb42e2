"""sync engine: links, watermarks, locks, runs, events, creates, engine state

Revision ID: 0003_sync_engine
Revises: 0002_sync_configuration
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sync_engine"
down_revision = "0002_sync_configuration"
branch_labels = None
depends_on = None

_CONNECTION_FK = "erp_connections.id"


def upgrade() -> None:
    op.create_table(
        "erp_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("erp_key", sa.String(length=255), nullable=False),
        sa.Column("agreed_json", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("error_reason", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            [_CONNECTION_FK],
            name=op.f("fk_erp_links_connection_id_erp_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erp_links")),
        sa.UniqueConstraint("connection_id", "actor_type", "erp_key", name="uq_erp_links_actor"),
        sa.UniqueConstraint("connection_id", "entity_type", "entity_id", name="uq_erp_links_entity"),
    )
    op.create_index("ix_erp_links_entity", "erp_links", ["entity_type", "entity_id"], unique=False)
    op.create_index(op.f("ix_erp_links_next_attempt_at"), "erp_links", ["next_attempt_at"], unique=False)
    op.create_table(
        "sync_watermarks",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("erp_since", sa.String(length=64), nullable=True),
        sa.Column("erp_cursor", sa.String(length=1000), nullable=True),
        sa.Column("crm_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            [_CONNECTION_FK],
            name=op.f("fk_sync_watermarks_connection_id_erp_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "actor_type", name=op.f("pk_sync_watermarks")),
    )
    op.create_table(
        "sync_locks",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_locks")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts_json", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_reason", sa.String(length=32), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            [_CONNECTION_FK],
            name=op.f("fk_sync_runs_connection_id_erp_connections"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index(op.f("ix_sync_runs_connection_id"), "sync_runs", ["connection_id"], unique=False)
    op.create_index(op.f("ix_sync_runs_started_at"), "sync_runs", ["started_at"], unique=False)
    op.create_table(
        "sync_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("entity_type", sa.String(length=16), nullable=True),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("actor_type", sa.String(length=32), nullable=True),
        sa.Column("erp_key", sa.String(length=255), nullable=True),
        sa.Column("changes_json", sa.JSON(), nullable=False),
        sa.Column("errors_json", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_sync_events_run_id_sync_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_events")),
    )
    op.create_index(op.f("ix_sync_events_link_id"), "sync_events", ["link_id"], unique=False)
    op.create_index(op.f("ix_sync_events_run_id"), "sync_events", ["run_id"], unique=False)
    op.create_table(
        "sync_creates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("actor_json", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("erp_key", sa.String(length=255), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            [_CONNECTION_FK],
            name=op.f("fk_sync_creates_connection_id_erp_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_creates")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_sync_creates_idempotency_key")),
    )
    op.create_index(op.f("ix_sync_creates_connection_id"), "sync_creates", ["connection_id"], unique=False)
    op.create_table(
        "engine_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_state")),
    )


def downgrade() -> None:
    for table in ("engine_state", "sync_creates", "sync_events", "sync_runs", "sync_locks", "sync_watermarks"):
        op.drop_table(table)
    op.drop_table("erp_links")
