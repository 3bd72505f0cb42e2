"""``/connections`` over real HTTP between hub and sample connector: test before save, secrets, visibility."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from erpsync.connectors.sample.seed import DEMO_USER
from erpsync.storage.tables import AuditEntry, ConnectionActorFields, ErpConnection
from erpsync.sync.configuration import changing
from erpsync.testing.sample import RunningSample, running_sample

from .conftest import Hub


@dataclass
class Setup:
    hub: Hub
    admin: httpx.Client
    sample: RunningSample
    connector_id: int

    def create(self, name: str = "Main", **extra: Any) -> httpx.Response:
        body = {"name": name, "connector_id": self.connector_id, "config": self.sample.config, **extra}
        return self.admin.post("/connections", json=body)


@pytest.fixture
def setup(hub: Hub, admin: httpx.Client, tmp_path: Path) -> Iterator[Setup]:
    with running_sample(tmp_path / "sample") as sample:
        added = admin.post("/connectors", json={"name": "Sample", "url": sample.url, "secret": sample.secret})
        assert added.status_code == 201, added.text
        yield Setup(hub, admin, sample, added.json()["id"])


def test_test_before_save_answers_ok_or_the_connectors_message(setup: Setup) -> None:
    passed = setup.admin.post(
        "/connections/test", json={"connector_id": setup.connector_id, "config": setup.sample.config}
    )
    assert passed.json()["ok"] is True
    wrong = {**setup.sample.config, "password": "wrong"}
    failed = setup.admin.post("/connections/test", json={"connector_id": setup.connector_id, "config": wrong})
    assert failed.status_code == 200
    assert failed.json() == {
        "ok": False,
        "state": "error",
        "user_message": "The ERP refused the user name or password.",
        "error_code": "auth",
    }


def test_create_saves_inactive_under_a_new_uuid_and_caches_metadata(setup: Setup) -> None:
    created = setup.create()
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["active"] is False
    assert body["secrets_set"] == ["password"]
    assert "password" not in body["config"]
    assert body["config"]["company"] == "NORDIC"
    assert set(body["actor_types"]) == {"customer", "supplier", "partner", "person", "project"}
    assert setup.sample.connector.connections.get(body["connection_uuid"]) is not None
    with setup.hub.database.session() as session:
        stored = session.scalar(select(ErpConnection).where(ErpConnection.id == body["id"]))
        assert stored is not None
        assert stored.secrets_encrypted
        assert "demo" not in stored.secrets_encrypted
        fields = session.scalars(
            select(ConnectionActorFields.actor_type).where(ConnectionActorFields.connection_id == body["id"])
        )
        assert set(fields) == set(body["actor_types"])
        audit = session.scalars(select(AuditEntry).where(AuditEntry.target_type == "connection")).one()
        assert "password" not in str(audit.detail_json)


@pytest.mark.parametrize(
    ("config", "status", "fragment"),
    [
        ({"company": "NORDIC", "user": "erpsync", "password": "wrong"}, 422, "Test connection failed"),
        ({"company": "NORDIC", "user": "erpsync"}, 422, "Password: required"),
        ({"company": "NORDIC", "user": "erpsync", "password": "demo", "page_size": "many"}, 422, "integer"),
        ({"company": "NORDIC", "user": "erpsync", "password": "demo", "colour": "red"}, 422, "colour"),
        ({"company": "NOPE", "user": "erpsync", "password": "demo"}, 422, "no company"),
    ],
)
def test_bad_configs_save_nothing(setup: Setup, config: dict[str, Any], status: int, fragment: str) -> None:
    refused = setup.admin.post("/connections", json={"name": "X", "connector_id": setup.connector_id, "config": config})
    assert refused.status_code == status
    assert fragment in refused.text
    assert setup.admin.get("/connections").json() == []


def test_names_are_unique_and_connector_must_exist(setup: Setup) -> None:
    assert setup.create().status_code == 201
    assert setup.create(name="main").status_code == 409
    unknown = setup.admin.post("/connections", json={"name": "Y", "connector_id": 999, "config": {}})
    assert unknown.status_code == 404


def test_edit_retests_changed_config_and_keeps_a_blank_password(setup: Setup) -> None:
    connection = setup.create().json()
    url = f"/connections/{connection['id']}"
    wrong = setup.admin.patch(url, json={"config": {"company": "NORDIC", "user": "erpsync", "password": "bad"}})
    assert wrong.status_code == 422
    kept = setup.admin.patch(url, json={"config": {"company": "NORDIC", "user": "erpsync", "page_size": 50}})
    assert kept.status_code == 200, kept.text
    assert kept.json()["config"]["page_size"] == 50
    assert setup.sample.connector.connections.get(connection["connection_uuid"]) == {
        "company": "NORDIC",
        "user": "erpsync",
        "password": "demo",
        "page_size": 50,
        "include_inactive": False,
        "default_credit_limit": 0.0,
    }
    test_again = setup.admin.post(
        "/connections/test",
        json={
            "connector_id": setup.connector_id,
            "connection_id": connection["id"],
            "config": {"company": "NORDIC", "user": "erpsync"},
        },
    )
    assert test_again.json()["ok"] is True


def test_soft_delete_tells_the_connector_and_restore_brings_it_back(setup: Setup) -> None:
    connection = setup.create().json()
    uuid = connection["connection_uuid"]
    assert setup.admin.delete(f"/connections/{connection['id']}").status_code == 204
    assert setup.sample.connector.connections.get(uuid) is None
    assert setup.admin.get("/connections").json() == []
    assert [c["id"] for c in setup.admin.get("/connections", params={"deleted": True}).json()] == [connection["id"]]
    assert setup.create().status_code == 201  # the name is free again while the first is deleted
    clash = setup.admin.post(f"/connections/{connection['id']}/restore")
    assert clash.status_code == 409
    other = setup.admin.get("/connections").json()[0]
    setup.admin.patch(f"/connections/{other['id']}", json={"name": "Other"})
    restored = setup.admin.post(f"/connections/{connection['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["deleted"] is False
    assert setup.sample.connector.connections.get(uuid) is not None


def test_a_forgotten_connection_is_sent_again(setup: Setup) -> None:
    connection = setup.create().json()
    setup.sample.connector.connections.delete(connection["connection_uuid"])
    answer = setup.admin.post(f"/connections/{connection['id']}/test")
    assert answer.json()["ok"] is True
    assert setup.sample.connector.connections.get(connection["connection_uuid"]) is not None


def test_refresh_flags_fields_the_connector_no_longer_reports(setup: Setup) -> None:
    connection = setup.create().json()
    with setup.hub.database.session() as session:
        row = session.get(ConnectionActorFields, (connection["id"], "customer"))
        assert row is not None
        legacy = {"key": "legacy_code", "label": "Legacy code", "type": "text"}
        with changing(session.get_one(ErpConnection, connection["id"])):
            session.execute(
                update(ConnectionActorFields)
                .where(ConnectionActorFields.connection_id == connection["id"])
                .where(ConnectionActorFields.actor_type == "customer")
                .values(fields_json=[*row.fields_json, legacy])
            )
    vanished = setup.admin.post(f"/connections/{connection['id']}/refresh")
    assert vanished.json() == {"customer": ["legacy_code"]}
    assert setup.admin.post(f"/connections/{connection['id']}/refresh").json() == {}


def test_visibility_decides_who_lists_reads_and_uses(setup: Setup) -> None:
    hub = setup.hub
    insider = hub.add_user("insider", licences=("erp",))
    member = hub.add_user("member", licences=("erp",))
    hub.add_user("outsider", licences=("erp",))
    hub.add_user("unlicensed")
    group = setup.admin.post("/groups", json={"name": "Sales", "members": [member]}).json()
    visibility = {"everyone": False, "users": [insider], "groups": [group["id"]]}
    connection = setup.create(visibility=visibility).json()
    assert connection["visibility"] == visibility
    public = setup.create(name="Everyone").json()
    for login, expected in (("insider", True), ("member", True), ("outsider", False)):
        with hub.sign_in(login) as client:
            listed = [c["id"] for c in client.get("/connections").json()]
            assert (connection["id"] in listed) is expected
            assert public["id"] in listed
            assert "config" not in client.get(f"/connections/{public['id']}").json()
            assert client.get(f"/connections/{connection['id']}").status_code == (200 if expected else 404)
            assert client.post(f"/connections/{connection['id']}/test").status_code == 403
    with hub.sign_in("unlicensed") as client:
        assert client.get("/connections").status_code == 403


def test_unknown_visibility_ids_are_refused(setup: Setup) -> None:
    refused = setup.create(visibility={"everyone": False, "users": [4242], "groups": []})
    assert refused.status_code == 422
    assert "unknown user id: 4242" in refused.text
    several = setup.create(visibility={"everyone": False, "users": [], "groups": [4243, 4242]})
    assert "unknown group ids: 4242, 4243" in several.text
    assert "(s)" not in refused.text + several.text
    assert setup.admin.get("/connections").json() == []


def test_editing_name_description_or_visibility_needs_no_new_test(setup: Setup) -> None:
    connection = setup.create().json()
    url = f"/connections/{connection['id']}"
    setup.sample.erp.set_password(DEMO_USER, "changed in the ERP")  # a test would fail now
    same_config = {"company": "NORDIC", "user": "erpsync"}  # the password field left blank: kept
    edited = setup.admin.patch(
        url,
        json={"name": "Renamed", "description": "Our ledger", "visibility": {"everyone": True}, "config": same_config},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["description"]) == ("Renamed", "Our ledger")
    changed = setup.admin.patch(url, json={"config": {**same_config, "page_size": 25}})
    assert changed.status_code == 422  # a changed config is tested again, and this one fails
    assert "Test connection failed" in str(changed.json()["detail"])
