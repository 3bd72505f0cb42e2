"""The schema: migrations from empty on both backends match the models; per-dialect engine settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from erpsync.crm.entities import ENTITY_TABLES
from erpsync.crm.fields import CRM_FIELDS, CrmFieldType
from erpsync.errors import cause_key
from erpsync.storage.db import Database, normalise_url
from erpsync.storage.migrate import alembic_config, current_revision, upgrade
from erpsync.storage.tables import Base, ChangeCounter, ErpConnection, LoginThrottle, SyncConnector, User, utcnow
from erpsync.testing.db import postgres_database


def _head(database: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database.engine)).get_current_head()


def test_migrations_bring_an_empty_sqlite_file_to_head(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'new' / 'erpsync.sqlite'}")
    assert current_revision(database.engine) is None
    upgrade(database.engine)
    upgrade(database.engine)  # a second run has nothing to do
    assert current_revision(database.engine) == _head(database)
    database.dispose()


@pytest.mark.postgres
def test_migrations_bring_an_empty_postgres_database_to_head() -> None:
    with postgres_database() as url:  # creates the database empty, then migrates it
        database = Database(url)
        assert current_revision(database.engine) == _head(database)
        assert set(inspect(database.engine).get_table_names()) >= set(Base.metadata.tables)
        database.dispose()


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_change_counter_starts_with_its_one_row(database: Database) -> None:
    with database.session() as session:
        assert session.scalars(select(ChangeCounter.id)).all() == [1]


def test_entity_columns_follow_the_catalogue() -> None:
    for entity_type, fields in CRM_FIELDS.items():
        columns = ENTITY_TABLES[entity_type].__table__.columns
        for field in fields.values():
            column = columns[field.attr]
            if field.type is CrmFieldType.LIST:
                assert {fk.column.table.name for fk in column.foreign_keys} == {"list_items"}
            elif field.type is CrmFieldType.TEXT and field.max_length <= 1000:
                assert column.type.length == field.max_length, field.key
        assert {"change_seq", "changed_by", "updated_at"} <= set(columns.keys())


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(ErpConnection(uuid="u-1", name="c", connector_id=999))


def test_postgres_urls_get_the_psycopg_driver() -> None:
    assert normalise_url("postgresql://u@h:5432/d").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_datetimes_come_back_in_utc(database: Database) -> None:
    copenhagen = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2024, 5, 1, 12, 0, tzinfo=copenhagen)
    with database.session() as session:
        session.add(LoginThrottle(login="tz", address="::1", blocked_until=moment, last_failure_at=moment))
    with database.session() as session:
        stored = session.scalars(select(LoginThrottle.blocked_until).where(LoginThrottle.login == "tz")).one()
    assert stored == moment
    assert stored is not None
    assert stored.utcoffset() == dt.timedelta(0)


def test_a_deleted_connection_frees_its_name(database: Database) -> None:
    with database.session() as session:
        connector = SyncConnector(name="sample", url="http://127.0.0.1:1", secret_encrypted="x")
        session.add(connector)
        session.flush()
        session.add(ErpConnection(uuid="u-1", name="main", connector_id=connector.id, deleted_at=utcnow()))
        session.add(ErpConnection(uuid="u-2", name="main", connector_id=connector.id))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(ErpConnection(uuid="u-3", name="main", connector_id=connector.id))


def _add_then_fail(database: Database) -> None:
    with database.session() as session:
        session.add(User(login="ghost", password_hash="x"))
        session.flush()
        raise RuntimeError


def test_sessions_roll_back_when_the_block_raises(database: Database) -> None:
    with pytest.raises(RuntimeError):
        _add_then_fail(database)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_the_sign_in_migration_keeps_users_groups_and_tokens(tmp_path: Path) -> None:
    # 0007 drops the lockout columns of users with ALTER TABLE ... DROP COLUMN: recreating the table would cascade.
    database = Database(f"sqlite:///{tmp_path / 'erpsync.sqlite'}")
    upgrade(database.engine, "0006_link_retry_index")
    moment = "2024-05-01 12:00:00.000000"
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (login, name, password_hash, is_admin, licences, active, failed_logins, created_at,"
                f" updated_at) VALUES ('ann', '', 'x', 0, '', 1, 4, '{moment}', '{moment}')"
            )
        )
        connection.execute(text(f"INSERT INTO groups (name, description, created_at) VALUES ('Sales', '', '{moment}')"))
        connection.execute(text("INSERT INTO group_members (group_id, user_id) VALUES (1, 1)"))
        connection.execute(
            text(
                "INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at)"
                f" VALUES (1, 'h', '{moment}', '{moment}')"
            )
        )
    upgrade(database.engine)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT login FROM users")).scalars().all() == ["ann"]
        assert connection.execute(text("SELECT user_id FROM group_members")).scalars().all() == [1]
        assert connection.execute(text("SELECT token_hash FROM api_tokens")).scalars().all() == ["h"]
    assert {"failed_logins", "locked_until"}.isdisjoint(
        c["name"] for c in inspect(database.engine).get_columns("users")
    )
    database.dispose()


def test_the_operations_migration_gives_failing_links_their_cause_and_goes_back(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'erpsync.sqlite'}")
    upgrade(database.engine, "0008_config_stamp")
    moment = "2024-05-01 12:00:00.000000"
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sync_connectors (name, url, secret_encrypted, info_json, created_at, updated_at)"
                f" VALUES ('c', 'http://127.0.0.1:1', 'x', '{{}}', '{moment}', '{moment}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO erp_connections (uuid, name, connector_id, everyone, description, config_json, active,"
                " priority, actor_types_json, config_stamp, created_at, updated_at) VALUES ('u', 'Main', 1, 1, '',"
                f" '{{}}', 0, 0, '[]', 's', '{moment}', '{moment}')"
            )
        )
        for n, state in enumerate(("failing", "ok")):
            connection.execute(
                text(
                    "INSERT INTO erp_links (connection_id, entity_type, entity_id, actor_type, erp_key, agreed_json,"
                    " state, last_error, error_reason, attempts, created_at) VALUES (1, 'company', :n, 'customer',"
                    " :key, '{}', :state, :error, 'validation', 1, :at)"
                ),
                {"n": n, "key": f"C{n}", "state": state, "error": "customer 7 is locked", "at": moment},
            )
    upgrade(database.engine)
    with database.engine.connect() as connection:
        causes = connection.execute(text("SELECT error_cause FROM erp_links ORDER BY id")).scalars().all()
    assert causes == [cause_key("validation", "customer 8 is locked"), None]
    command.downgrade(alembic_config(database.engine), "0008_config_stamp")
    assert "error_cause" not in {c["name"] for c in inspect(database.engine).get_columns("erp_links")}
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM erp_links")).scalar() == 2
    upgrade(database.engine)
    database.dispose()


def test_the_active_flag_migration_makes_every_record_active_keeps_autoincrement_and_goes_back(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'erpsync.sqlite'}")
    upgrade(database.engine, "0016_auto_create")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO companies (name, change_seq, changed_by, updated_at)"
                " VALUES ('Acme', 1, 'system', '2024-05-01 12:00:00.000000')"
            )
        )
    upgrade(database.engine)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT active FROM companies")).scalars().all() == [1]
        for table in ("companies", "persons", "projects"):
            sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}).scalar()
            assert "AUTOINCREMENT" in str(sql), table  # ids are never reused
    command.downgrade(alembic_config(database.engine), "0016_auto_create")
    assert "active" not in {c["name"] for c in inspect(database.engine).get_columns("companies")}
    database.dispose()
