"""The import, resync, progress and cancel endpoints over real HTTP, run by the embedded job thread."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpsync import accounts
from erpsync.app import create_app
from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol.models import ActorType
from erpsync.settings import Settings
from erpsync.storage.tables import ErpConnection
from erpsync.sync import configuration, runs
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.sample import COMPANY
from erpsync.testing.server import serve_in_thread
from support.sync_world import World

PASSWORD = "a good password"


@pytest.fixture
def admin(world: World, tmp_path: Path) -> Iterator[httpx.Client]:
    mapping = ActorTypeMapping(
        actor_type=ActorType.CUSTOMER,
        active=True,
        fields=(
            FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH),
            FieldMapping(erp_field="email", crm_field="EMAIL", direction=Direction.BOTH),
        ),
    )
    with world.database.session() as session:
        connection = session.get(ErpConnection, world.connection_id)
        assert connection is not None
        configuration.save_mapping(session, connection, mapping, erp_lists={})
        accounts.create_user(session, login="admin", password=PASSWORD, is_admin=True, licences=("erp",))
    app = create_app(Settings(data_dir=tmp_path / "data"), database=world.database)
    app.state.clients.close()
    app.state.clients = world.clients  # they hold the cipher the connection's secrets were stored with
    with serve_in_thread(app) as url, httpx.Client(base_url=f"{url}/api/v1", timeout=30) as client:
        token = client.post("/auth/token", data={"username": "admin", "password": PASSWORD}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def wait_done(client: httpx.Client, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(path).json()
        job = body.get("job", body)
        if job["status"] not in ("queued", "running"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{path} did not finish")


def test_preview_import_result_and_undo_over_http(world: World, admin: httpx.Client) -> None:
    world.sample.erp.insert_many(COMPANY, ActorType.CUSTOMER, [NewRecord(values={"name": f"C{n}"}) for n in range(30)])
    base = f"/connections/{world.connection_id}"
    bad = admin.post(
        f"{base}/imports/preview",
        json={
            "actor_type": "customer",
            "restrictions": [
                {"field": "nope", "operator": "="},
                {"field": "name", "operator": "after", "values": ["x"]},
            ],
        },
    )
    assert bad.status_code == 422, bad.text
    assert "'nope'" in bad.text
    assert "'after'" in bad.text
    assert admin.post(f"{base}/imports", json={"actor_type": "project"}).status_code == 422
    rows = admin.post(f"{base}/imports/preview", json={"actor_type": "customer", "limit": 5}).json()
    assert [row["action"] for row in rows] == ["create"] * 5
    started = admin.post(f"{base}/imports", json={"actor_type": "customer"})
    assert started.status_code == 202
    job_id = started.json()["id"]
    result = wait_done(admin, f"{base}/imports/{job_id}")
    assert (result["job"]["status"], result["job"]["percentage"], len(result["created"])) == ("done", 100.0, 30)
    progress = admin.get(f"/runs/{result['job']['run_id']}/progress").json()
    assert (progress["kind"], progress["status"], progress["percentage"]) == ("import", "ok", 100.0)
    assert (progress["counts"]["records"], progress["counts"]["crm_writes"], progress["job"]["processed"]) == (
        30,
        30,
        30,
    )
    assert admin.post(f"/runs/{result['job']['run_id']}/cancel").status_code == 409  # it has ended
    assert admin.post(f"{base}/imports/{job_id}/undo").json() == {"deleted": 30}
    assert admin.get("/companies").json()["total"] == 0


def test_resync_over_http_and_only_a_running_run_takes_a_cancel(world: World, admin: httpx.Client) -> None:
    base = f"/connections/{world.connection_id}"
    started = admin.post(f"{base}/resync-from-crm", json={})
    assert started.status_code == 202
    done = wait_done(admin, f"{base}/resync-from-crm/{started.json()['id']}")
    assert (done["status"], done["total"]) == ("done", 0)
    assert admin.post(f"/runs/{done['run_id']}/cancel").status_code == 409
    run_id = runs.start_run(world.database, kind=runs.RunKind.CYCLE, connection_id=world.connection_id)
    taken = admin.post(f"/runs/{run_id}/cancel")
    assert taken.status_code == 202
    assert (taken.json()["cancel_requested"], taken.json()["job"]) == (True, None)


def test_a_deleted_connection_answers_404_at_once_and_keeps_its_history(world: World, admin: httpx.Client) -> None:
    base = f"/connections/{world.connection_id}"
    job_id = admin.post(f"{base}/imports", json={"actor_type": "customer"}).json()["id"]
    wait_done(admin, f"{base}/imports/{job_id}")
    assert admin.delete(base).status_code == 204
    starts = [
        (f"{base}/imports/preview", {"actor_type": "customer"}),
        (f"{base}/imports", {"actor_type": "customer"}),
        (f"{base}/imports/{job_id}/resume", None),
        (f"{base}/resync-from-crm", {}),
    ]
    for path, body in starts:
        started = time.monotonic()
        response = admin.post(path, json=body)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": f"no ERP connection with id {world.connection_id}"},
        )
        assert time.monotonic() - started < 5, f"{path} took {time.monotonic() - started:.1f} s"
    assert admin.get(f"{base}/imports/{job_id}").json()["job"]["status"] == "done"


def test_import_reasons_come_as_a_code_in_english_and_in_the_asking_users_language(
    world: World, admin: httpx.Client
) -> None:
    linked = world.crm_company(NAME="Gamma Trading")
    world.crm_company(NAME="Twin")
    world.crm_company(NAME="twin")
    gamma, twin = world.erp_customer(name="gamma trading"), world.erp_customer(name="Twin")
    base = f"/connections/{world.connection_id}"
    danish = {"Accept-Language": "da-DK,da;q=0.9"}
    preview = admin.post(f"{base}/imports/preview", json={"actor_type": "customer"}, headers=danish).json()
    row = next(row for row in preview if row["erp_key"] == twin)
    assert (row["reason_code"], row["reason"]) == ("several_match", "2 CRM companies match by name")
    assert row["reason_text"] == "2 CRM-poster passer på navn."
    job_id = admin.post(f"{base}/imports", json={"actor_type": "customer"}).json()["id"]
    wait_done(admin, f"{base}/imports/{job_id}")
    for headers, matched, several in (
        ({}, "Matched by name.", "2 CRM records match by name."),
        ({"Accept-Language": "en"}, "Matched by name.", "2 CRM records match by name."),
        (danish, "Fundet på navn.", "2 CRM-poster passer på navn."),
    ):
        result = admin.get(f"{base}/imports/{job_id}", headers=headers).json()
        (updated,) = result["updated"]
        assert (updated["erp_key"], updated["entity_id"]) == (gamma, linked)
        assert (updated["reason_code"], updated["reason"], updated["reason_text"]) == (
            "matched_by",
            "matched by name",
            matched,
        )
        (skipped,) = result["skipped"]
        assert (skipped["erp_key"], skipped["reason_code"], skipped["reason_text"]) == (twin, "several_match", several)
