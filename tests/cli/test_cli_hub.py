"""The hub's CLI on the embedded default: ``db upgrade``, ``users add|list``, ``groups add|list``, and what ``serve``
and ``worker`` do before they start."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi import FastAPI

from erpsync import accounts
from erpsync.storage.db import Database
from erpsync.storage.migrate import alembic_config, current_revision
from erpsync.sync import heap

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


@pytest.fixture
def unfrozen_after(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A command that freezes the process's heap for good, undone after the test (the test process goes on)."""
    monkeypatch.setattr(heap, "_for_good", False)
    monkeypatch.setattr(sys, "setswitchinterval", lambda _seconds: None)  # serve's own, process-wide
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("data_dir", "unfrozen_after")
def test_serve_freezes_the_built_hub_before_it_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: list[tuple[object, bool, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda hub, **_: served.append((hub, heap._for_good, gc.get_freeze_count())))
    code, output = run_cli("serve", "--port", "0")
    assert code == 0, output
    [(hub, for_good, frozen)] = served
    assert isinstance(hub, FastAPI)
    assert for_good
    assert frozen > 0


@pytest.mark.usefixtures("data_dir", "unfrozen_after")
def test_a_worker_freezes_what_it_built_before_it_works(monkeypatch: pytest.MonkeyPatch) -> None:
    from erpsync import worker

    started: list[tuple[bool, int]] = []
    monkeypatch.setattr(worker, "serve_workers", lambda *_: started.append((heap._for_good, gc.get_freeze_count())))
    code, output = run_cli("worker")
    assert code == 0, output
    [(for_good, frozen)] = started
    assert for_good
    assert frozen > 0
