"""import items keep their reason as a code and its values, which the pages word in the reader's language

Revision ID: 0013_import_reason_codes
Revises: 0012_delete_policies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_import_reason_codes"
down_revision = "0012_delete_policies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_items") as batch:
        batch.add_column(sa.Column("reason_detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_items") as batch:
        batch.drop_column("reason_detail")
