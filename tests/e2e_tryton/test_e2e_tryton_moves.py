"""People who move, against the real Tryton: a contact person's "Works for" relation replaced in Tryton moves the
CRM person, a CRM person moved to another company gets its relation replaced in Tryton, a move to a company the
connection has not linked fails the link with the reason and changes nothing else, and a move on both sides is settled
by the connection's conflict policy. Every relation is read back from Tryton over JSON-RPC."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from erpsync.sync.merge import Policy
from erpsync.sync.moves import ERP_PARENT_UNLINKED, MOVED_TO_UNLINKED, PARENT

from .tryton_people import People, with_persons
from .tryton_world import Hub, TrytonDesk

pytestmark = pytest.mark.tryton


@dataclass(frozen=True)
class Company:
    key: str  # the Tryton party
    id: int  # the CRM company linked to it


@dataclass(frozen=True)
class Person:
    key: str  # the Tryton party
    id: int  # the CRM person linked to it


@pytest.fixture
def people(hub: Hub, tryton: TrytonDesk) -> People:
    return with_persons(hub, tryton)


def companies(people: People, *names: str) -> list[Company]:
    """Customers a Tryton user created, imported into the CRM (which links them)."""
    keys = [people.tryton.create_customer(name) for name in names]
    job = people.hub.import_customers(keys)
    assert (job.status, job.created) == ("done", len(keys))
    return [Company(key, people.hub.company_of(key)) for key in keys]


def employee(people: People, name: str, company: Company) -> Person:
    """A person working for ``company`` in Tryton, imported into the CRM under its company, and a first cycle."""
    key = people.create_person(name, company.key)
    people.import_persons([key])
    person = Person(key, people.link_of(key).entity_id)
    assert people.company_of(person.id) == company.id
    people.hub.cycle()
    link = people.link_of(key)
    assert (link.state, link.agreed_json[PARENT]) == ("ok", f"customer:{company.key}")
    return person


def assert_settled(people: People, person: Person, company: Company) -> None:
    """Both sides on ``company``, the link agreeing, and a next cycle with nothing to write."""
    assert people.company_of(person.id) == company.id
    assert people.employers(person.key) == [company.key]
    link = people.link_of(person.key)
    assert (link.state, link.agreed_json[PARENT]) == ("ok", f"customer:{company.key}")
    quiet = people.hub.cycle()
    assert (quiet.counts.crm_writes, quiet.counts.erp_writes, quiet.counts.errors) == (0, 0, 0)


def test_a_person_moved_in_tryton_moves_in_the_crm(people: People) -> None:
    acme, beta = companies(people, "Acme Moves A/S", "Beta Moves A/S")
    hansen = employee(people, "Hansen", acme)

    people.move_in_tryton(hansen.key, beta.key)
    summary = people.hub.cycle()

    assert (summary.status, summary.counts.crm_writes, summary.counts.erp_writes) == ("ok", 1, 0)
    assert_settled(people, hansen, beta)


def test_a_person_moved_in_the_crm_moves_in_tryton(people: People) -> None:
    acme, beta = companies(people, "Acme Crm A/S", "Beta Crm A/S")
    jensen = employee(people, "Jensen", acme)

    people.move_in_crm(jensen.id, beta.id)
    summary = people.hub.cycle()

    assert (summary.status, summary.counts.erp_writes, summary.counts.crm_writes) == ("ok", 1, 0)
    assert people.employers(jensen.key) == [beta.key]  # the relation to Acme replaced, not a second one
    assert_settled(people, jensen, beta)


def test_a_move_in_tryton_to_a_party_not_linked_fails_the_link_and_changes_nothing_else(people: People) -> None:
    (acme,) = companies(people, "Acme Unlinked ERP")
    nielsen = employee(people, "Nielsen", acme)
    elsewhere = people.tryton.create_customer("Not In The Crm ApS")  # never imported
    companies_before = people.hub.companies()

    people.move_in_tryton(nielsen.key, elsewhere)
    summary = people.hub.cycle()

    link = people.link_of(nielsen.key)
    assert link.state == "failing"
    assert ERP_PARENT_UNLINKED in (link.last_error or "")
    assert link.agreed_json[PARENT] == f"customer:{acme.key}"
    assert (summary.counts.crm_writes, summary.counts.erp_writes) == (0, 0)
    assert people.company_of(nielsen.id) == acme.id  # the CRM person stays where it was
    assert people.employers(nielsen.key) == [elsewhere]  # and Tryton as its user left it
    assert people.hub.companies() == companies_before


def test_a_move_in_the_crm_to_a_company_not_linked_fails_the_link_and_changes_nothing_else(people: People) -> None:
    (acme,) = companies(people, "Acme Unlinked CRM")
    olsen = employee(people, "Olsen", acme)
    crm_only = people.crm_only_company("Only In The Crm ApS")
    before = people.tryton.party(olsen.key)

    people.move_in_crm(olsen.id, crm_only)
    summary = people.hub.cycle()

    link = people.link_of(olsen.key)
    assert link.state == "failing"
    assert MOVED_TO_UNLINKED in (link.last_error or "")
    assert link.agreed_json[PARENT] == f"customer:{acme.key}"
    assert (summary.counts.crm_writes, summary.counts.erp_writes) == (0, 0)
    assert people.employers(olsen.key) == [acme.key]  # Tryton is left as it was
    assert people.tryton.party(olsen.key) == before  # same values, same write dates
    assert people.company_of(olsen.id) == crm_only  # and the CRM as its user left it


@pytest.mark.parametrize(("policy", "winner"), [(Policy.CRM, "crm"), (Policy.ERP, "erp")])
def test_a_person_moved_differently_on_both_sides_is_settled_by_the_policy(
    people: People, policy: Policy, winner: str
) -> None:
    people.hub.set_policy(policy)
    acme, beta, gamma = companies(people, f"Acme {winner}", f"Beta {winner}", f"Gamma {winner}")
    berg = employee(people, f"Berg {winner}", acme)

    people.move_in_crm(berg.id, beta.id)
    people.move_in_tryton(berg.key, gamma.key)
    summary = people.hub.cycle()

    expected = beta if winner == "crm" else gamma
    assert summary.counts.conflicts == 1
    assert_settled(people, berg, expected)
