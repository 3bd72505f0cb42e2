"""``erpsync users``, ``groups`` and ``lists``: the administration use cases from the command line, audited as such."""

from __future__ import annotations

from pathlib import Path

from erpsync import accounts, audit
from erpsync.storage.db import Database

from .conftest import run_cli, run_json


def _database(data_dir: Path) -> Database:
    return Database(f"sqlite:///{data_dir / 'erpsync.sqlite'}")


def _add_users() -> None:
    assert run_cli("users", "add", "root", "--admin", "--password-stdin", stdin="root password\n")[0] == 0
    assert run_cli("users", "add", "ann", "--password-stdin", stdin="ann password\n")[0] == 0
    assert run_cli("users", "add", "bo", "--password-stdin", stdin="bo long password\n")[0] == 0


def test_users_update_and_remove(data_dir: Path) -> None:
    _add_users()
    user = run_json("users", "update", "ann", "--name", "Ann Berg", "--licence", "erp", "--admin")
    assert (user["login"], user["name"], user["is_admin"], user["licences"]) == ("ann", "Ann Berg", True, ["erp"])
    code, output = run_cli("users", "update", "ann", "--no-admin", "--no-licences", "--inactive")
    assert code == 0, output
    assert "Ann Berg" in output
    (listed,) = [u for u in run_json("users", "list") if u["login"] == "ann"]
    assert (listed["is_admin"], listed["licences"], listed["active"]) == (False, [], False)
    assert run_cli("users", "update", "ann", "--active", "--password-stdin", stdin="a new password\n")[0] == 0
    database = _database(data_dir)
    with database.session() as session:
        assert accounts.authenticate(session, "ann", "a new password").login == "ann"
        entry = audit.entries(session, target_type="user")[0]
        assert entry.user_id is None
        assert (entry.action, entry.detail_json["active"], entry.detail_json["via"]) == ("update", True, "cli")
    database.dispose()

    assert run_cli("users", "remove", "bo") == (0, "user bo removed\n")
    assert [u["login"] for u in run_json("users", "list")] == ["root", "ann"]


def test_user_refusals_change_nothing(data_dir: Path) -> None:
    _add_users()
    before = run_json("users", "list")
    code, output = run_cli("users", "update", "ann", "--password-stdin", stdin="short\n")
    assert code == 1
    assert output.startswith("error: refused: password:")
    assert len(output.splitlines()) == 1
    assert run_cli("users", "update", "ann", "--licence", "crm")[0] == 1
    assert run_cli("users", "update", "nobody", "--name", "X") == (1, "error: no user with login 'nobody'\n")
    assert run_cli("users", "remove", "nobody")[0] == 1
    assert run_cli("users", "update", "ann", "--licence", "erp", "--no-licences")[0] == 2
    assert run_json("users", "list") == before


def test_groups_update_members_and_remove(data_dir: Path) -> None:
    _add_users()
    assert run_cli("groups", "add", "Sales", "--member", "ann")[0] == 0
    group = run_json("groups", "members", "Sales")
    ann, bo = (u["id"] for u in run_json("users", "list") if u["login"] in ("ann", "bo"))
    assert group["members"] == [ann]
    assert run_json("groups", "members", "Sales", "--add", "bo")["members"] == [ann, bo]
    assert run_json("groups", "members", "Sales", "--remove", "ann")["members"] == [bo]
    assert run_json("groups", "members", "Sales", "--member", "root", "--member", "ann")["members"] == [1, ann]
    updated = run_json("groups", "update", "Sales", "--name", "Sales DK", "--description", "Danish sales")
    assert (updated["name"], updated["description"]) == ("Sales DK", "Danish sales")
    assert run_cli("groups", "members", "Sales DK", "--add", "nobody") == (
        1,
        "error: no user with login 'nobody'\n",
    )
    assert run_cli("groups", "members", "Sales DK", "--member", "ann", "--add", "bo")[0] == 2
    assert run_cli("groups", "update", "Nope", "--name", "X") == (1, "error: no group named 'Nope'\n")
    assert run_json("groups", "list") == [updated]
    assert run_cli("groups", "remove", "Sales DK") == (0, "group Sales DK removed\n")
    assert run_json("groups", "list") == []


def test_crm_lists_show_add_rename(data_dir: Path) -> None:
    items = run_json("lists", "show", "business")
    code, output = run_cli("lists", "add", "business", "Reseller")
    assert code == 0, output
    after = run_json("lists", "show", "business")
    assert len(after) == len(items) + 1
    (added,) = [item for item in after if item["label"] == "Reseller"]
    code, output = run_cli("lists", "rename", "business", str(added["id"]), "Wholesaler")
    assert code == 0, output
    code, output = run_cli("lists", "show", "business")
    assert "Wholesaler" in output
    assert "Reseller" not in output
    assert run_cli("lists", "show", "no_such_list")[0] == 1
    assert run_cli("lists", "add", "business", "")[0] == 1
    assert run_cli("lists", "rename", "business", "999999", "X")[0] == 1
    assert len(run_json("lists", "show", "business")) == len(after)
