"""``/runs``: the history of runs and their per-record events, for administrators."""

from __future__ import annotations

import httpx

from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY

from .conftest import Synced, ok


def test_runs_and_events_show_fields_old_to_new_and_who_won(synced: Synced) -> None:
    synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"email": "erp@acme.example"})
    run = ok(synced.sync())
    listed = ok(synced.admin.get("/runs", params={"connection_id": synced.connection_id}))
    assert [r["id"] for r in listed] == [run["id"]]
    assert ok(synced.admin.get(f"/runs/{run['id']}")) == run
    [event] = ok(synced.admin.get(f"/runs/{run['id']}/events"))
    assert (event["link_id"], event["entity_id"], event["erp_key"]) == (
        synced.link_id,
        synced.company_id,
        synced.erp_key,
    )
    [change] = event["changes"]
    assert change["field"] == "email"
    assert (change["old"], change["new"]) == ("a@acme.example", "erp@acme.example")
    assert (change["winner"], change["reason"], change["written_to"]) == ("erp", "only erp changed", "crm")
    assert event["errors"] == []
    assert ok(synced.admin.get("/runs", params={"connection_id": synced.connection_id + 1})) == []


def test_unknown_runs_are_404_and_users_are_refused(synced: Synced, user: httpx.Client) -> None:
    assert synced.admin.get("/runs/999").status_code == 404
    assert synced.admin.get("/runs/999/events").status_code == 404
    assert user.get("/runs").status_code == 403
