"""People who move (``sync.moves``): when a person's company changes on either side, the link follows, or fails with
the reason when the new company is not linked in the connection. The sample connector over real HTTP, both backends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.fields import PERSON as PERSON_KIND
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record, read_record, write_record
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.sync import engine as sync_engine
from erpsync.sync import links
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction, Policy
from erpsync.sync.moves import ERP_PARENT_UNLINKED, MOVED_TO_UNLINKED, PARENT
from erpsync.testing.sample import COMPANY
from support.sync_world import CUSTOMER, World, build_world

PERSON = ActorType.PERSON


@dataclass
class People:
    world: World

    def company_pair(self, name: str) -> tuple[int, str]:
        """A CRM company and an ERP customer, linked."""
        erp_key = self.world.erp_customer(name=name)
        company_id = self.world.crm_company(NAME=name)
        self.world.link(company_id, erp_key, agreed={"name": name})
        return company_id, erp_key

    def person_pair(self, company_id: int, customer_key: str, last_name: str) -> tuple[int, str, int]:
        """A CRM person of ``company_id`` and an ERP person of ``customer_key``, linked, and a first cycle."""
        erp = self.world.sample.erp
        record = NewRecord(values={"last_name": last_name}, parent_type=CUSTOMER, parent_key=customer_key)
        erp_key = erp.create_actor(COMPANY, PERSON, record)
        with self.world.database.session() as session:
            person_id = create_record(
                session, EntityType.PERSON, {"LASTNAME": last_name}, changed_by="user:1", company_id=company_id
            ).id
            link_id = links.create_link(
                session,
                connection_id=self.world.connection_id,
                entity_type=EntityType.PERSON,
                entity_id=person_id,
                actor_type=PERSON,
                erp_key=erp_key,
                agreed={"last_name": last_name},
            ).id
        self.world.cycle()
        return person_id, erp_key, link_id

    def crm_company_of(self, person_id: int) -> int | None:
        with self.world.database.read_session() as session:
            return read_record(session, EntityType.PERSON, person_id).company_id

    def move_in_crm(self, person_id: int, company_id: int) -> None:
        with self.world.database.session() as session:
            write_record(session, EntityType.PERSON, person_id, {"company_id": company_id}, changed_by="user:1")

    def erp_parent_of(self, erp_key: str) -> tuple[ActorType | None, str | None]:
        actor = self.world.sample.erp.fetch(COMPANY, PERSON, [erp_key], list(PERSON_KIND.fields))[erp_key]
        return actor.parent_type, actor.parent_key

    def move_in_erp(self, erp_key: str, customer_key: str) -> None:
        self.world.sample.erp.update_actor(COMPANY, PERSON, erp_key, {}, parent=(CUSTOMER, customer_key))


@pytest.fixture
def people(database: Database, tmp_path: Path) -> Iterator[People]:
    for world in build_world(database, tmp_path):
        rows = (FieldMapping(erp_field="last_name", crm_field="LASTNAME", direction=Direction.BOTH),)
        person_mapping = ActorTypeMapping(actor_type=PERSON, active=True, fields=rows)
        world.config = world.config.model_copy(update={"mappings": {**world.config.mappings, PERSON: person_mapping}})
        yield People(world)


def test_the_first_sync_agrees_on_the_person_s_company(people: People) -> None:
    acme, acme_key = people.company_pair("Acme")
    _, _, link_id = people.person_pair(acme, acme_key, "Hansen")
    assert people.world.get_link(link_id).agreed_json[PARENT] == f"customer:{acme_key}"
    [again] = people.world.cycle()
    assert (again.counts.crm_writes, again.counts.erp_writes) == (0, 0)


def test_a_person_moved_in_the_crm_moves_in_the_erp(people: People) -> None:
    acme, acme_key = people.company_pair("Acme")
    beta, beta_key = people.company_pair("Beta")
    person_id, erp_key, link_id = people.person_pair(acme, acme_key, "Hansen")
    people.move_in_crm(person_id, beta)
    [summary] = people.world.cycle()
    assert summary.counts.erp_writes >= 1
    assert people.erp_parent_of(erp_key) == (CUSTOMER, beta_key)
    link = people.world.get_link(link_id)
    assert (link.state, link.agreed_json[PARENT]) == ("ok", f"customer:{beta_key}")
    assert people.crm_company_of(person_id) == beta
    [again] = people.world.cycle()
    assert (again.counts.crm_writes, again.counts.erp_writes) == (0, 0)


def test_a_person_moved_in_the_erp_moves_in_the_crm(people: People) -> None:
    acme, acme_key = people.company_pair("Acme")
    beta, beta_key = people.company_pair("Beta")
    person_id, erp_key, link_id = people.person_pair(acme, acme_key, "Hansen")
    people.move_in_erp(erp_key, beta_key)
    [summary] = people.world.cycle()
    assert summary.counts.crm_writes >= 1
    assert people.crm_company_of(person_id) == beta
    link = people.world.get_link(link_id)
    assert (link.state, link.agreed_json[PARENT]) == ("ok", f"customer:{beta_key}")
    [again] = people.world.cycle()
    assert (again.counts.crm_writes, again.counts.erp_writes) == (0, 0)


def test_a_move_in_the_crm_to_an_unlinked_company_fails_the_link_with_the_reason_until_it_is_linked(
    people: People,
) -> None:
    acme, acme_key = people.company_pair("Acme")
    person_id, erp_key, link_id = people.person_pair(acme, acme_key, "Hansen")
    gamma = people.world.crm_company(NAME="Gamma")  # not linked in the connection
    people.move_in_crm(person_id, gamma)
    people.world.cycle()
    link = people.world.get_link(link_id)
    assert link.state == "failing"
    assert MOVED_TO_UNLINKED in (link.last_error or "")
    assert people.erp_parent_of(erp_key) == (CUSTOMER, acme_key)  # the ERP is left as it was
    assert link.agreed_json[PARENT] == f"customer:{acme_key}"
    # Once Gamma is linked, the person follows (Sync now of the record, as its ERP tab offers).
    gamma_key = people.world.erp_customer(name="Gamma")
    people.world.link(gamma, gamma_key, agreed={"name": "Gamma"})
    sync_engine.sync_link(people.world.engine, link_id)
    assert people.erp_parent_of(erp_key) == (CUSTOMER, gamma_key)
    link = people.world.get_link(link_id)
    assert (link.state, link.agreed_json[PARENT]) == ("ok", f"customer:{gamma_key}")


def test_a_move_in_the_erp_to_an_unlinked_customer_fails_the_link_with_the_reason(people: People) -> None:
    acme, acme_key = people.company_pair("Acme")
    person_id, erp_key, link_id = people.person_pair(acme, acme_key, "Hansen")
    other_key = people.world.erp_customer(name="Not in the CRM")
    people.move_in_erp(erp_key, other_key)
    people.world.cycle()
    link = people.world.get_link(link_id)
    assert link.state == "failing"
    assert ERP_PARENT_UNLINKED in (link.last_error or "")
    assert people.crm_company_of(person_id) == acme  # the CRM is left as it was


@pytest.mark.parametrize(("policy", "winner"), [(Policy.CRM, "crm"), (Policy.ERP, "erp")])
def test_a_move_on_both_sides_is_settled_by_the_connection_s_policy(
    people: People, policy: Policy, winner: str
) -> None:
    people.world.config = people.world.config.model_copy(update={"policy": policy})
    acme, acme_key = people.company_pair("Acme")
    beta, beta_key = people.company_pair("Beta")
    gamma, gamma_key = people.company_pair("Gamma")
    person_id, erp_key, _ = people.person_pair(acme, acme_key, "Hansen")
    people.move_in_crm(person_id, beta)
    people.move_in_erp(erp_key, gamma_key)
    people.world.cycle()
    expected_company, expected_key = (beta, beta_key) if winner == "crm" else (gamma, gamma_key)
    assert people.crm_company_of(person_id) == expected_company
    assert people.erp_parent_of(erp_key) == (CUSTOMER, expected_key)
