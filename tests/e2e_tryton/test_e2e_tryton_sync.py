"""Imported Tryton customers kept in sync by the engine: changes on either side, on both, a concurrent edit in Tryton,
and a quiet cycle; every value checked in Tryton itself, read back over JSON-RPC."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.sdk.app import create_app
from erpsync.storage.tables import SyncEvent
from erpsync.sync.merge import Policy
from erpsync.testing.server import serve_in_thread

from .tryton_world import SECRET, BeforeFirstSave, Hub, TrytonDesk

pytestmark = pytest.mark.tryton


def nordlys_like(tryton: TrytonDesk, name: str) -> str:
    """A customer a Tryton user created, with every synced field filled: its key."""
    return tryton.create_customer(name, email="info@nordlys.example", phone="+45 1234", country="DK", category="Retail")


def imported(hub: Hub, key: str) -> int:
    """Import the Tryton customer ``key`` into the CRM (it links it): the CRM company."""
    job = hub.import_customers([key])
    assert (job.status, job.created) == ("done", 1)
    return hub.company_of(key)


def imported_customer(hub: Hub, tryton: TrytonDesk, name: str) -> tuple[str, int]:
    key = nordlys_like(tryton, name)
    return key, imported(hub, key)


def field_changes(events: list[SyncEvent], field: str) -> list[dict[str, object]]:
    return [change for event in events for change in event.changes_json if change["field"] == field]


def test_crm_changes_reach_tryton(hub: Hub, tryton: TrytonDesk) -> None:
    key, company = imported_customer(hub, tryton, "Nordlys ApS")
    hub.crm_update(
        company,
        NAME="Nordlys A/S",
        EMAIL="sales@nordlys.example",
        COUNTRY=hub.countries["SE"],
        CATEGORY=hub.categories["Wholesale"],
    )

    summary = hub.cycle()

    assert (summary.status, summary.counts.erp_writes, summary.counts.crm_writes) == ("ok", 1, 0)
    party = tryton.party(key)
    assert (party.name, party.email, party.country) == ("Nordlys A/S", "sales@nordlys.example", "SE")
    assert party.categories == {"Customer", "Wholesale"}  # the list item replaced; still a customer
    assert party.phone == "+45 1234"


def test_tryton_changes_reach_the_crm(hub: Hub, tryton: TrytonDesk) -> None:
    key, company = imported_customer(hub, tryton, "Fjell AS")
    tryton.edit(key, email="post@fjell.example", category="Wholesale")

    summary = hub.cycle()

    assert (summary.status, summary.counts.crm_writes, summary.counts.erp_writes) == ("ok", 1, 0)
    crm = hub.crm(company)
    assert (crm["EMAIL"], crm["CATEGORY"]) == ("post@fjell.example", hub.categories["Wholesale"])
    assert (crm["NAME"], crm["COUNTRY"]) == ("Fjell AS", hub.countries["DK"])


@pytest.mark.parametrize(
    ("policy", "winner", "reason"),
    [
        (Policy.CRM, "crm", "conflict: policy crm"),
        (Policy.ERP, "erp", "conflict: policy erp"),
        (Policy.NEWEST, "erp", "conflict: newest erp ("),  # the Tryton user wrote last
    ],
)
def test_a_field_changed_on_both_sides_is_settled_by_the_policy(
    hub: Hub, tryton: TrytonDesk, policy: Policy, winner: str, reason: str
) -> None:
    hub.set_policy(policy)
    key, company = imported_customer(hub, tryton, f"Both Sides {policy.value}")
    hub.crm_update(company, EMAIL="crm@both.example")
    tryton.edit(key, email="erp@both.example")

    summary = hub.cycle()

    expected = f"{winner}@both.example"
    assert (hub.crm(company)["EMAIL"], tryton.party(key).email) == (expected, expected)
    assert summary.counts.conflicts == 1
    [change] = field_changes(hub.events(summary.run_id), "email")
    assert (change["crm"], change["erp"], change["new"], change["winner"]) == (
        "crm@both.example",
        "erp@both.example",
        expected,
        winner,
    )
    assert str(change["reason"]).startswith(reason)


@pytest.mark.parametrize(("policy", "winner"), [(Policy.NEWEST, "tryton"), (Policy.CRM, "crm")])
def test_a_concurrent_edit_in_tryton_is_a_conflict_not_overwritten(
    open_hub: Callable[[str], Hub], connector: TrytonConnector, tryton: TrytonDesk, policy: Policy, winner: str
) -> None:
    key = nordlys_like(tryton, f"Concurrent {policy.value}")
    concurrent_edit = BeforeFirstSave(
        create_app(connector, secret=SECRET), lambda: tryton.edit(key, email="tryton@concurrent.example")
    )
    with serve_in_thread(concurrent_edit) as url:
        hub = open_hub(url)
        hub.set_policy(policy)
        company = imported(hub, key)
        # A later change in Tryton moves the ERP watermark past this party, so the next cycle meets the CRM change
        # in its CRM pass alone: the engine reads the party there, and the Tryton user edits it before the write.
        tryton.create_customer(f"Bystander {policy.value}")
        hub.cycle()
        hub.crm_update(company, EMAIL="crm@concurrent.example")

        conflicted = hub.cycle()

        assert tryton.party(key).email == "tryton@concurrent.example"
        assert hub.crm(company)["EMAIL"] == "crm@concurrent.example"
        link = hub.link_of(key)
        assert (link.state, link.error_reason) == ("failing", "conflict")
        [event] = hub.events(conflicted.run_id)
        [error] = event.errors_json
        assert error["reason"] == "conflict"
        assert "changed in Tryton since it was read" in error["message"]
        assert conflicted.status == "partial"

        converged = hub.cycle()

    expected = f"{winner}@concurrent.example"
    assert (tryton.party(key).email, hub.crm(company)["EMAIL"]) == (expected, expected)
    assert hub.link_of(key).state == "ok"
    [change] = field_changes(hub.events(converged.run_id), "email")
    assert (change["crm"], change["erp"]) == ("crm@concurrent.example", "tryton@concurrent.example")
    assert str(change["reason"]).startswith("conflict")


def test_a_cycle_with_no_changes_writes_nothing_on_either_side(hub: Hub, tryton: TrytonDesk) -> None:
    key, company = imported_customer(hub, tryton, "Quiet Oy")
    hub.crm_update(company, EMAIL="quiet@quiet.example", COUNTRY=hub.countries["NO"])
    hub.cycle()
    before, seq = tryton.party(key), hub.crm_seq()

    summary = hub.cycle()

    assert (summary.counts.crm_writes, summary.counts.erp_writes, summary.counts.errors) == (0, 0, 0)
    assert hub.events(summary.run_id) == []
    after = tryton.party(key)
    assert after == before  # same values and the same write dates on the party, its address and contact mechanisms
    assert (after.email, after.country) == ("quiet@quiet.example", "NO")
    assert hub.crm_seq() == seq
