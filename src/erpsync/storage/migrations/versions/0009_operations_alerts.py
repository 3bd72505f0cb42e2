"""operations: failing links keep the key of their cause (error code and normalised message), when they started
failing and when they last failed, indexed so problems are grouped in SQL; the alert channels' settings, who gets
which alerts per connection, the causes alerted on and every delivery

Revision ID: 0009_operations_alerts
Revises: 0008_config_stamp
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from erpsync.errors import cause_key

revision = "0009_operations_alerts"
down_revision = "0008_config_stamp"
branch_labels = None
depends_on = None

_FAILED_STATES = ("failing", "broken")


def _links() -> None:
    op.add_column("erp_links", sa.Column("error_cause", sa.String(length=32), nullable=True))
    op.add_column("erp_links", sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("erp_links", sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_erp_links_cause", "erp_links", ["connection_id", "state", "error_cause"])
    # The links failing now get their cause; when they started failing is not known, their last sync stands in.
    links = sa.table(
        "erp_links",
        sa.column("id", sa.Integer()),
        sa.column("state", sa.String()),
        sa.column("error_reason", sa.String()),
        sa.column("last_error", sa.Text()),
        sa.column("error_cause", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(links.c.id, links.c.error_reason, links.c.last_error).where(links.c.state.in_(_FAILED_STATES))
    ).all()
    for row in rows:
        cause = cause_key(row.error_reason or "connector", row.last_error or "")
        bind.execute(sa.update(links).where(links.c.id == row.id).values(error_cause=cause))


def upgrade() -> None:
    _links()
    op.create_table(
        "alert_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("smtp_host", sa.String(length=255), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_security", sa.String(length=16), nullable=False),
        sa.Column("smtp_user", sa.String(length=255), nullable=False),
        sa.Column("smtp_password_encrypted", sa.Text(), nullable=True),
        sa.Column("from_address", sa.String(length=255), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_settings")),
    )
    op.create_table(
        "alert_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("on_alert", sa.Boolean(), nullable=False),
        sa.Column("on_recovery", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["erp_connections.id"],
            name=op.f("fk_alert_recipients_connection_id_erp_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_recipients")),
    )
    op.create_index(op.f("ix_alert_recipients_connection_id"), "alert_recipients", ["connection_id"], unique=False)
    op.create_table(
        "alert_causes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recovery_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["erp_connections.id"],
            name=op.f("fk_alert_causes_connection_id_erp_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_causes")),
    )
    op.create_index(op.f("ix_alert_causes_connection_id"), "alert_causes", ["connection_id"], unique=False)
    op.create_index(
        "uq_alert_causes_open",
        "alert_causes",
        ["connection_id", "cause"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("causes_json", sa.JSON(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["erp_connections.id"],
            name=op.f("fk_alert_deliveries_connection_id_erp_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
    )
    op.create_index(op.f("ix_alert_deliveries_connection_id"), "alert_deliveries", ["connection_id"], unique=False)
    op.create_index(op.f("ix_alert_deliveries_at"), "alert_deliveries", ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_index("uq_alert_causes_open", table_name="alert_causes")
    op.drop_table("alert_causes")
    op.drop_table("alert_recipients")
    op.drop_table("alert_settings")
    op.drop_index("ix_erp_links_cause", table_name="erp_links")
    for column in ("last_error_at", "failing_since", "error_cause"):  # plain DROP COLUMN: the links stay as they are
        op.drop_column("erp_links", column)
