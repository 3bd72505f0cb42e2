"""The hub's CLI on the embedded default: ``db upgrade``, ``users add|list``, ``groups add|list``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from erpsync import accounts
from erpsync.cli import app
from erpsync.settings import get_settings
from erpsync.storage.db import Database
from erpsync.storage.migrate import alembic_config, current_revision


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ERPSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ERPSYNC_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def test_db_upgrade_creates_the_embedded_database(data_dir: Path) -> None:
    code, output = _run("db", "upgrade")
    assert code == 0, output
    database = Database(f"sqlite:///{data_dir / 'erpsync.sqlite'}")
    head = ScriptDirectory.from_config(alembic_config(database.engine)).get_current_head()
    assert current_revision(database.engine) == head
    assert f"database at revision {head}" in output
    database.dispose()


def test_users_and_groups(data_dir: Path) -> None:
    assert (
        _run("users", "add", "root", "--admin", "--licence", "erp", "--password-stdin", stdin="root password\n")[0] == 0
    )
    assert _run("users", "add", "ann", stdin="ann password\nann password\n")[0] == 0  # prompted, with confirmation
    assert _run("groups", "add", "Sales", "--member", "ann")[0] == 0
    assert _run("users", "list")[1].splitlines() == ["1\troot\tadmin\terp", "2\tann\tuser\t-"]
    assert _run("groups", "list")[1].splitlines() == ["1\tSales\tann"]
    database = Database(f"sqlite:///{data_dir / 'erpsync.sqlite'}")
    with database.session() as session:
        assert accounts.authenticate(session, "root", "root password").is_admin
    database.dispose()


def test_bad_input_is_a_one_line_error(data_dir: Path) -> None:
    _run("users", "add", "ann", "--password-stdin", stdin="ann password\n")
    assert _run("users", "add", "ann", "--password-stdin", stdin="ann password\n") == (
        1,
        "error: a user with login 'ann' exists\n",
    )
    assert _run("users", "add", "bob", "--password-stdin", stdin="short\n")[0] == 1
    assert _run("users", "add", "bob", "--licence", "crm", "--password-stdin", stdin="bob password\n")[0] == 1
    assert _run("groups", "add", "Ops", "--member", "nobody") == (1, "error: no user with login 'nobody'\n")
