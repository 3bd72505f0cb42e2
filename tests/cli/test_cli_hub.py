"""The hub's CLI on the embedded default: ``db upgrade``, ``users add|list``, ``groups add|list``."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.script import ScriptDirectory

from erpsync import accounts
from erpsync.storage.db import Database
from erpsync.storage.migrate import alembic_config, current_revision

from .conftest import run_cli


def test_db_upgrade_creates_the_embedded_database(data_dir: Path) -> None:
    code, output = run_cli("db", "upgrade")
    assert code == 0, output
    database = Database(f"sqlite:///{data_dir / 'erpsync.sqlite'}")
    head = ScriptDirectory.from_config(alembic_config(database.engine)).get_current_head()
    assert current_revision(database.engine) == head
    assert f"database at revision {head}" in output
    database.dispose()


def test_db_upgrade_fills_a_fresh_hubs_country_list_once(data_dir: Path) -> None:
    assert "country list filled with 249 ISO 3166-1 countries" in run_cli("db", "upgrade")[1]
    assert "country list" not in run_cli("db", "upgrade")[1]
    code, output = run_cli("lists", "show", "country", "--json")
    assert code == 0, output
    assert {"Denmark", "Sweden", "Germany"} <= {item["label"] for item in json.loads(output)}


def test_users_and_groups(data_dir: Path) -> None:
    assert (
        run_cli("users", "add", "root", "--admin", "--licence", "erp", "--password-stdin", stdin="root password\n")[0]
        == 0
    )
    assert run_cli("users", "add", "ann", stdin="ann password\nann password\n")[0] == 0  # prompted, with confirmation
    assert run_cli("groups", "add", "Sales", "--member", "ann")[0] == 0
    assert run_cli("users", "list")[1].splitlines() == ["1\troot\tadmin\terp", "2\tann\tuser\t-"]
    assert run_cli("groups", "list")[1].splitlines() == ["1\tSales\tann"]
    database = Database(f"sqlite:///{data_dir / 'erpsync.sqlite'}")
    with database.session() as session:
        assert accounts.authenticate(session, "root", "root password").is_admin
    database.dispose()


def test_bad_input_is_a_one_line_error(data_dir: Path) -> None:
    run_cli("users", "add", "ann", "--password-stdin", stdin="ann password\n")
    assert run_cli("users", "add", "ann", "--password-stdin", stdin="ann password\n") == (
        1,
        "error: a user with login 'ann' exists\n",
    )
    assert run_cli("users", "add", "bob", "--password-stdin", stdin="short\n")[0] == 1
    assert run_cli("users", "add", "bob", "--licence", "crm", "--password-stdin", stdin="bob password\n")[0] == 1
    assert run_cli("groups", "add", "Ops", "--member", "nobody") == (1, "error: no user with login 'nobody'\n")
