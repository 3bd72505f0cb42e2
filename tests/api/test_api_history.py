"""``/history`` and ``/runs/{id}/undo``: a record's field history, revert of one field, undo of a run, retention."""

from __future__ import annotations

import time
from typing import Any

import httpx

from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY

from .conftest import Synced, ok


def _erp_email(synced: Synced, email: str) -> None:
    synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"email": email})


def test_history_lists_each_change_with_its_writer_and_undo_puts_it_back(synced: Synced) -> None:
    _erp_email(synced, "erp@acme.example")
    run = ok(synced.sync())
    [change] = ok(synced.admin.get(f"/history/company/{synced.company_id}"))
    assert (change["side"], change["field"], change["source"], change["run_id"]) == ("crm", "email", "sync", run["id"])
    assert (change["old_value"], change["new_value"]) == ("a@acme.example", "erp@acme.example")
    assert change["connection_id"] == synced.connection_id
    assert change["written_by"] == f"sync:{synced.connection_id}"
    undone = ok(synced.admin.post(f"/runs/{run['id']}/undo"))
    assert [(w["side"], w["field"], w["value"], w["replaced"]) for w in undone["written"]] == [
        ("crm", "email", "a@acme.example", "erp@acme.example")
    ]
    assert undone["left_alone"] == []
    assert synced.company()["email"] == "a@acme.example"
    undo_run = ok(synced.admin.get(f"/runs/{undone['run_id']}"))
    assert (undo_run["kind"], undo_run["status"]) == ("undo", "ok")
    assert synced.admin.post(f"/runs/{run['id']}/undo").status_code == 409  # once only
    newest = ok(synced.admin.get(f"/history/company/{synced.company_id}", params={"limit": 1}))
    me = ok(synced.admin.get("/me"))["id"]
    assert [(c["source"], c["user_id"], c["written_by"]) for c in newest] == [("undo", me, f"user:{me}")]


def test_revert_of_a_field_edited_since_leaves_it_and_says_why(synced: Synced) -> None:
    _erp_email(synced, "erp@acme.example")
    ok(synced.sync())
    [change] = ok(synced.admin.get(f"/history/company/{synced.company_id}"))
    ok(synced.admin.patch(f"/companies/{synced.company_id}", json={"email": "mine@acme.example"}))
    answer = ok(synced.admin.post(f"/history/changes/{change['id']}/revert"))
    assert answer["written"] == []
    [left] = answer["left_alone"]
    assert (left["field"], left["reason"]) == ("email", "conflict")
    assert synced.company()["email"] == "mine@acme.example"


def test_unknown_ids_are_404_bad_input_422_and_users_are_refused(synced: Synced, user: httpx.Client) -> None:
    assert synced.admin.post("/runs/999/undo").status_code == 404
    assert synced.admin.post("/history/changes/999/revert").status_code == 404
    assert synced.admin.get("/history/planet/1").status_code == 422
    assert synced.admin.put("/engine/history", json={"days": 0}).status_code == 422
    assert ok(synced.admin.get("/engine/history")) == {"days": 365}
    assert ok(synced.admin.put("/engine/history", json={"days": 30})) == {"days": 30}
    assert ok(synced.admin.get("/engine/history")) == {"days": 30}
    assert user.get(f"/history/company/{synced.company_id}").status_code == 403
    assert user.post("/runs/1/undo").status_code == 403


def test_resync_dry_run_then_run_then_undo_from_its_run(synced: Synced) -> None:
    _erp_email(synced, "erp@acme.example")
    body = {"source": "erp", "actor_type": "customer", "entity_ids": [synced.company_id]}
    preview = ok(synced.admin.post(f"{synced.base}/resync/dry-run", json=body))
    assert (preview["records"], preview["changed"], preview["complete"]) == (1, 1, True)
    [row] = preview["rows"]
    assert row["fields"] == [{"field": "email", "side": "crm", "old": "a@acme.example", "new": "erp@acme.example"}]
    assert synced.company()["email"] == "a@acme.example"  # a dry run writes nothing
    job = ok(synced.admin.post(f"{synced.base}/resync", json=body), 202)
    done = _wait_done(synced, job["id"])
    assert synced.company()["email"] == "erp@acme.example"
    undone = ok(synced.admin.post(f"/runs/{done['run_id']}/undo"))
    assert [(w["field"], w["value"]) for w in undone["written"]] == [("email", "a@acme.example")]
    assert synced.company()["email"] == "a@acme.example"


def test_a_resync_of_chosen_records_needs_their_actor_type(synced: Synced) -> None:
    for path in ("resync", "resync/dry-run"):
        answer = synced.admin.post(f"{synced.base}/{path}", json={"entity_ids": [synced.company_id]})
        assert answer.status_code == 422, answer.text
    assert synced.admin.post(f"{synced.base}/resync", json={"source": "side"}).status_code == 422


def _wait_done(synced: Synced, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job: dict[str, Any] = ok(synced.admin.get(f"{synced.base}/resync-from-crm/{job_id}"))
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "done", job
            return job
        time.sleep(0.1)
    raise AssertionError(f"resync {job_id} did not end")


def test_a_crm_edit_through_the_api_is_in_the_history_at_once(synced: Synced) -> None:
    ok(synced.admin.patch(f"/companies/{synced.company_id}", json={"email": "mine@acme.example"}))
    me = ok(synced.admin.get("/me"))["id"]
    [change] = ok(synced.admin.get(f"/history/company/{synced.company_id}"))
    assert (change["side"], change["field"], change["source"], change["run_id"]) == ("crm", "email", "user_edit", None)
    assert (change["old_value"], change["new_value"]) == ("a@acme.example", "mine@acme.example")
    assert (change["user_id"], change["written_by"]) == (me, f"user:{me}")
    assert change["connection_id"] == synced.connection_id
