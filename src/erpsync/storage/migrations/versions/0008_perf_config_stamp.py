"""connections get a configuration version stamp, replaced by every change of their sync configuration or metadata
cache, so each process can keep the parsed configuration until it changes

Revision ID: 0008_perf_config_stamp
Revises: 0007_logins
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_perf_config_stamp"
down_revision = "0007_logins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server default fills the connections already there (the cache keys on the connection's uuid with the
    # stamp, so they may share it); new rows and every change get a random one from the ORM.
    op.add_column(
        "erp_connections", sa.Column("config_stamp", sa.String(length=32), nullable=False, server_default="initial")
    )


def downgrade() -> None:
    with op.batch_alter_table("erp_connections") as batch:
        batch.drop_column("config_stamp")
