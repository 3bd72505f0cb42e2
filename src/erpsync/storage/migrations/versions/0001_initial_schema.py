"""initial schema

Revision ID: 0001
Revises: -
Create Date: 2026-11-22 01:56:12.377864
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_counter")),
    )
    op.bulk_insert(sa.table("change_counter", sa.column("id"), sa.column("value")), [{"id": 1, "value": 0}])
    op.create_table(
        "crm_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_deletions")),
    )
    op.create_index(op.f("ix_crm_deletions_change_seq"), "crm_deletions", ["change_seq"], unique=False)

    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
    )
    op.create_table(
        "list_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_name", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_items")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_list_items_list_name_rank", "list_items", ["list_name", "rank"], unique=False)

    op.create_table(
        "sync_connectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("info_json", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_connectors")),
        sa.UniqueConstraint("name", name=op.f("uq_sync_connectors_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("licences", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("login", name=op.f("uq_users_login")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("detail_json", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)

    op.create_table(
        "companies",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("department", sa.String(length=255), nullable=True),
        sa.Column("number1", sa.String(length=64), nullable=True),
        sa.Column("number2", sa.String(length=64), nullable=True),
        sa.Column("vat_number", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("fax", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("postal_address1", sa.String(length=255), nullable=True),
        sa.Column("postal_address2", sa.String(length=255), nullable=True),
        sa.Column("postal_address3", sa.String(length=255), nullable=True),
        sa.Column("postal_zip", sa.String(length=32), nullable=True),
        sa.Column("postal_city", sa.String(length=255), nullable=True),
        sa.Column("postal_county", sa.String(length=255), nullable=True),
        sa.Column("postal_state", sa.String(length=255), nullable=True),
        sa.Column("street_address1", sa.String(length=255), nullable=True),
        sa.Column("street_address2", sa.String(length=255), nullable=True),
        sa.Column("street_address3", sa.String(length=255), nullable=True),
        sa.Column("street_zip", sa.String(length=32), nullable=True),
        sa.Column("street_city", sa.String(length=255), nullable=True),
        sa.Column("street_county", sa.String(length=255), nullable=True),
        sa.Column("street_state", sa.String(length=255), nullable=True),
        sa.Column("country_id", sa.Integer(), nullable=True),
        sa.Column("business_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"], ["list_items.id"], name=op.f("fk_companies_business_id_list_items"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["list_items.id"], name=op.f("fk_companies_category_id_list_items"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["country_id"], ["list_items.id"], name=op.f("fk_companies_country_id_list_items"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_companies_change_seq"), "companies", ["change_seq"], unique=False)
    op.create_index(op.f("ix_companies_name"), "companies", ["name"], unique=False)

    op.create_table(
        "erp_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("everyone", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("config_json", sa.JSON(), nullable=False),
        sa.Column("secrets_encrypted", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor_types_json", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["sync_connectors.id"],
            name=op.f("fk_erp_connections_connector_id_sync_connectors"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erp_connections")),
        sa.UniqueConstraint("uuid", name=op.f("uq_erp_connections_uuid")),
    )
    op.create_index(op.f("ix_erp_connections_connector_id"), "erp_connections", ["connector_id"], unique=False)
    op.create_index(
        "uq_erp_connections_live_name",
        "erp_connections",
        ["name"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_members_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_group_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_members")),
    )
    op.create_index(op.f("ix_group_members_user_id"), "group_members", ["user_id"], unique=False)

    op.create_table(
        "projects",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("status_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["status_id"], ["list_items.id"], name=op.f("fk_projects_status_id_list_items"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_projects_change_seq"), "projects", ["change_seq"], unique=False)
    op.create_index(op.f("ix_projects_name"), "projects", ["name"], unique=False)

    op.create_table(
        "connection_actor_fields",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("fields_json", sa.JSON(), nullable=False),
        sa.Column("searchable_json", sa.JSON(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["erp_connections.id"],
            name=op.f("fk_connection_actor_fields_connection_id_erp_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "actor_type", name=op.f("pk_connection_actor_fields")),
    )
    op.create_table(
        "connection_groups",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["erp_connections.id"],
            name=op.f("fk_connection_groups_connection_id_erp_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_connection_groups_group_id_groups"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("connection_id", "group_id", name=op.f("pk_connection_groups")),
    )
    op.create_index(op.f("ix_connection_groups_group_id"), "connection_groups", ["group_id"], unique=False)

    op.create_table(
        "connection_users",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["erp_connections.id"],
            name=op.f("fk_connection_users_connection_id_erp_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_connection_users_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("connection_id", "user_id", name=op.f("pk_connection_users")),
    )
    op.create_index(op.f("ix_connection_users_user_id"), "connection_users", ["user_id"], unique=False)

    op.create_table(
        "persons",
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("middle_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("position", sa.String(length=255), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("phone_direct", sa.String(length=64), nullable=True),
        sa.Column("phone_private", sa.String(length=64), nullable=True),
        sa.Column("phone_mobile", sa.String(length=64), nullable=True),
        sa.Column("phone_other", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("postal_address1", sa.String(length=255), nullable=True),
        sa.Column("postal_address2", sa.String(length=255), nullable=True),
        sa.Column("postal_address3", sa.String(length=255), nullable=True),
        sa.Column("postal_zip", sa.String(length=32), nullable=True),
        sa.Column("postal_city", sa.String(length=255), nullable=True),
        sa.Column("country_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_persons_company_id_companies"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["country_id"], ["list_items.id"], name=op.f("fk_persons_country_id_list_items"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_persons_change_seq"), "persons", ["change_seq"], unique=False)
    op.create_index(op.f("ix_persons_company_id"), "persons", ["company_id"], unique=False)


def downgrade() -> None:
    for table in (
        "persons",
        "connection_users",
        "connection_groups",
        "connection_actor_fields",
        "projects",
        "group_members",
        "erp_connections",
        "companies",
        "audit_log",
        "api_tokens",
        "users",
        "sync_connectors",
        "list_items",
        "groups",
        "crm_deletions",
        "change_counter",
    ):
        op.drop_table(table)
