"""``/conflicts``: the conflict inbox over HTTP. A field whose policy is *ask* keeps both values when both sides
changed it; the user who changed the CRM value sees it and settles it, nobody else does."""

from __future__ import annotations

from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY

from .conftest import Synced, ok


def _ask_for_email(synced: Synced) -> None:
    rows = [
        {"erp_field": "name", "crm_field": "NAME", "direction": "both"},
        {"erp_field": "email", "crm_field": "EMAIL", "direction": "both", "policy": "ask"},
    ]
    ok(synced.admin.put(f"{synced.base}/mappings/customer", json={"active": True, "fields": rows}))


def _erp_email(synced: Synced) -> object:
    actor = synced.sample.erp.fetch(COMPANY, ActorType.CUSTOMER, [synced.erp_key], ORGANISATION.fields)[synced.erp_key]
    return actor.fields["email"]


def test_the_user_who_changed_the_crm_value_settles_the_conflict_and_both_sides_take_it(synced: Synced) -> None:
    _ask_for_email(synced)
    synced.hub.add_user("anna", licences=("erp",))
    synced.hub.add_user("bo", licences=("erp",))
    with synced.hub.sign_in("anna") as anna, synced.hub.sign_in("bo") as bo:
        synced.sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, synced.erp_key, {"email": "erp@acme.example"})
        ok(anna.patch(f"/companies/{synced.company_id}", json={"email": "anna@acme.example"}))
        run = ok(synced.sync())
        assert run["counts"]["conflicts"] >= 1
        assert synced.company()["email"] == "anna@acme.example"  # nothing settled by a rule
        assert _erp_email(synced) == "erp@acme.example"

        [waiting] = ok(anna.get("/conflicts"))
        assert (waiting["field"], waiting["crm_value"], waiting["erp_value"]) == (
            "email",
            "anna@acme.example",
            "erp@acme.example",
        )
        assert ok(bo.get("/conflicts")) == []
        refused = bo.post("/conflicts/resolve", json={"ids": [waiting["id"]], "side": "crm"})
        assert refused.status_code == 404, refused.text
        assert len(ok(synced.admin.get("/conflicts"))) == 1  # administrators see every conflict

        [result] = ok(anna.post("/conflicts/resolve", json={"ids": [waiting["id"]], "side": "erp"}))
        assert result["errors"] == []
        assert synced.company()["email"] == "erp@acme.example"
        assert _erp_email(synced) == "erp@acme.example"
        assert ok(anna.get("/conflicts")) == []


def test_resolving_nothing_or_an_unknown_side_is_refused(synced: Synced) -> None:
    assert synced.admin.post("/conflicts/resolve", json={"ids": [], "side": "crm"}).status_code == 422
    assert synced.admin.post("/conflicts/resolve", json={"ids": [1], "side": "both"}).status_code == 422
