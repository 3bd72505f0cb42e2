"""Contact persons in the end-to-end world: Tryton parties that work for a company through the "Works for" relation
(``party_relationship``), moved as a Tryton user moves them, and the hub's persons mapped, imported and moved in the
CRM."""

from __future__ import annotations

from dataclasses import dataclass

from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record, read_record, user_origin, write_record
from erpsync.protocol.models import ActorType
from erpsync.storage.tables import ErpLink
from erpsync.sync import configuration, configuration_loading, imports, links
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.tryton import EMPLOYS, WORKS_FOR

from .tryton_world import LISTS, Hub, TrytonDesk

PERSON = ActorType.PERSON
PERSON_FIELDS = {"name": "LASTNAME", "email": "EMAIL"}


@dataclass
class People:
    """The hub with persons mapped, and Tryton's desk: persons created, moved and read there, and in the CRM."""

    hub: Hub
    tryton: TrytonDesk

    # --- Tryton, as its users see it ------------------------------------------------------------------------------

    @property
    def works_for(self) -> int:
        (relation_type,) = self.tryton.rpc.search("party.relation.type", [["name", "=", WORKS_FOR]])
        return int(relation_type)

    def create_person(self, name: str, company_key: str) -> str:
        """A party that works for the party ``company_key``, made in Tryton: its key."""
        relation = {"to": int(company_key), "type": self.works_for}
        values = {"name": name, "relations": [["create", [relation]]]}
        (party,) = self.tryton.rpc.create("party.party", [values])
        return str(party)

    def move_in_tryton(self, person_key: str, company_key: str) -> None:
        """On the person's form, its "Works for" relation deleted and one to ``company_key`` added, saved at once."""
        current = self._works_for_relations(person_key)
        new = {"to": int(company_key), "type": self.works_for}
        commands = [["delete", current], ["create", [new]]]
        self.tryton.rpc.write("party.party", [int(person_key)], {"relations": commands})

    def employers(self, person_key: str) -> list[str]:
        """The parties the person works for in Tryton, read there; each relation has its reverse ("Employs")."""
        domain = [["from_", "=", int(person_key)], ["type.name", "=", WORKS_FOR]]
        rows = self.tryton.rpc.search_read("party.relation.all", domain, ["to"])
        reverse = [["to", "=", int(person_key)], ["type.name", "=", EMPLOYS]]
        employs = self.tryton.rpc.search_read("party.relation.all", reverse, ["from_"])
        assert sorted(row["to"] for row in rows) == sorted(row["from_"] for row in employs)
        return sorted(str(row["to"]) for row in rows)

    def _works_for_relations(self, person_key: str) -> list[int]:
        domain = [["from_", "=", int(person_key)], ["type", "=", self.works_for]]
        return [int(i) for i in self.tryton.rpc.search("party.relation.all", domain)]

    # --- the hub --------------------------------------------------------------------------------------------------

    def import_persons(self, erp_keys: list[str]) -> None:
        job = imports.start_import(self.hub.engine, self.hub.connection_id, PERSON, erp_keys=erp_keys)
        done = imports.run_import(self.hub.engine, job.id)
        assert done is not None
        assert (done.status, done.created, done.failed) == ("done", len(erp_keys), 0)

    def crm_only_company(self, name: str) -> int:
        """A CRM company not linked in the connection."""
        with self.hub.database.session() as session:
            return create_record(session, EntityType.COMPANY, {"NAME": name}, changed_by=user_origin(1)).id

    def company_of(self, person_id: int) -> int | None:
        with self.hub.database.read_session() as session:
            return read_record(session, EntityType.PERSON, person_id).company_id

    def move_in_crm(self, person_id: int, company_id: int) -> None:
        with self.hub.database.session() as session:
            write_record(session, EntityType.PERSON, person_id, {"company_id": company_id}, changed_by=user_origin(1))

    def link_of(self, person_key: str) -> ErpLink:
        with self.hub.database.read_session() as session:
            return links.links_by_erp_key(session, self.hub.connection_id, PERSON, [person_key])[person_key]


def with_persons(hub: Hub, tryton: TrytonDesk) -> People:
    """The hub's connection with the person mapping saved as an administrator saves it: name and e-mail, both ways."""
    rows = tuple(FieldMapping(erp_field=e, crm_field=c, direction=Direction.BOTH) for e, c in PERSON_FIELDS.items())
    with hub.database.read_session() as session:
        connection = hub.connection(session)
    erp_lists = configuration_loading.read_erp_lists(
        hub.clients, connection, LISTS
    )  # the lists the saved mapping pairs
    with hub.database.session() as session:
        mapping = ActorTypeMapping(actor_type=PERSON, active=True, fields=rows)
        configuration.save_mapping(session, hub.connection(session), mapping, erp_lists=erp_lists)
    return People(hub, tryton)
