"""The end-to-end world: Tryton as its users see it, the hub configured as an administrator would, and a middleware
that lets a Tryton user edit a party between the hub's read and its write.

Per module: one trytond (a copy of the cached template database) and one Tryton connector served over loopback HTTP.
Per test: a hub on its own SQLite file, with the connector registered, a connection to that trytond, and the customer
mapping saved, list-mapped and activated through ``sync.configuration``. Each test works on the parties it creates
itself, so the tests of a module share its trytond without seeing each other's links.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from erpsync.connectors.tryton.rpc import TrytonRpc
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList, EntityType
from erpsync.crm.service import read_record, user_origin, write_record
from erpsync.protocol.models import ActorType, ListItem
from erpsync.storage.db import Database
from erpsync.storage.tables import ChangeCounter, Company, ErpConnection, ErpLink, SyncEvent, SyncJob
from erpsync.sync import configuration, configuration_loading, imports, links
from erpsync.sync.connections import ConnectionDraft, create_connection
from erpsync.sync.connectors import ConnectorClients, add_connector
from erpsync.sync.engine import RunSummary, run_cycle
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping, ListMapping
from erpsync.sync.merge import Direction, Policy
from erpsync.sync.work import Engine
from erpsync.testing.tryton import COUNTRIES, TrytonServer

SECRET = "e2e-tryton-connector-secret-0123456789"
CUSTOMER = ActorType.CUSTOMER
CATEGORIES = ("Retail", "Wholesale")
PARTY_CATEGORIES = CATEGORIES  # "Customer" and "Supplier" are the template's (ROLE_CATEGORIES), named in the config
SYNCED = {"name": "NAME", "email": "EMAIL", "phone": "PHONE", "country": "COUNTRY", "category": "CATEGORY"}
LISTS = {"countries": CrmList.COUNTRY, "categories": CrmList.CATEGORY}
COUNTRY_NAMES = dict(COUNTRIES)


# --- Tryton, as its users see it ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """A party as read back from Tryton over JSON-RPC; ``stamps`` are the write dates of it and its parts."""

    name: str
    email: str | None
    phone: str | None
    country: str | None
    categories: frozenset[str]
    stamps: tuple[Any, ...]


@dataclass
class TrytonDesk:
    """Tryton's own JSON-RPC, used as a Tryton user would: parties created, edited and read, never via the connector."""

    server: TrytonServer
    rpc: TrytonRpc
    categories: dict[str, int]

    def create_customer(
        self,
        name: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        country: str | None = None,
        category: str | None = None,
        role: str = "Customer",
    ) -> str:
        """A party in the "Customer" (or ``role``) category, with its contact mechanisms and an address."""
        mechanisms = [{"type": kind, "value": value} for kind, value in (("email", email), ("phone", phone)) if value]
        address = {"country": self._country_id(country)} if country else {}
        categories = [self.categories[role]] + ([self.categories[category]] if category else [])
        values = {
            "name": name,
            "categories": [["add", categories]],
            "contact_mechanisms": [["create", mechanisms]],
            "addresses": [["create", [address]]],
        }
        (party,) = self.rpc.create("party.party", [values])
        return str(party)

    def edit(self, key: str, *, email: str | None = None, category: str | None = None) -> None:
        party = int(key)
        if email is not None:
            (mechanism,) = self.rpc.search("party.contact_mechanism", [["party", "=", party], ["type", "=", "email"]])
            self.rpc.write("party.contact_mechanism", [mechanism], {"value": email})
        if category is not None:
            (row,) = self.rpc.read("party.party", [party], ["categories"])
            others = [c for c in row["categories"] if c != self.categories["Customer"]]
            commands = ([["remove", others]] if others else []) + [["add", [self.categories[category]]]]
            self.rpc.write("party.party", [party], {"categories": commands})

    def party(self, key: str) -> Party:
        party = int(key)
        fields = ["name", "email", "phone", "categories.name", "write_date"]
        (row,) = self.rpc.read("party.party", [party], fields)
        addresses = self.rpc.search_read("party.address", [["party", "=", party]], ["country.code", "write_date"])
        mechanisms = self.rpc.search_read("party.contact_mechanism", [["party", "=", party]], ["write_date"])
        country = (addresses[0].get("country.") or {}).get("code") if addresses else None
        return Party(
            name=row["name"],
            email=row["email"] or None,
            phone=row["phone"] or None,
            country=country,
            categories=frozenset(c["name"] for c in row["categories."]),
            stamps=tuple(r["write_date"] for r in [row, *addresses, *mechanisms]),
        )

    def customer_keys(self) -> set[str]:
        return {str(i) for i in self.rpc.search("party.party", [["categories", "in", [self.categories["Customer"]]]])}

    def _country_id(self, code: str) -> int:
        (country,) = self.rpc.search("country.country", [["code", "=", code]])
        return country


# --- a Tryton user between the hub's read and its write -------------------------------------------------------------


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class BeforeFirstSave:
    """ASGI middleware in front of a connector: runs ``action`` once, just before it forwards the first
    ``save_actors``, i.e. after the hub read the actors and before the connector writes them."""

    def __init__(self, app: Asgi, action: Callable[[], None]) -> None:
        self._app = app
        self._action: Callable[[], None] | None = action

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/save_actors" and self._action is not None:
            action, self._action = self._action, None
            await run_in_threadpool(action)
        await self._app(scope, receive, send)


# --- the hub --------------------------------------------------------------------------------------------------------


@dataclass
class Hub:
    """A hub with one active connection to the module's Tryton, configured through ``sync.configuration``."""

    database: Database
    clients: ConnectorClients
    connection_id: int
    countries: dict[str, int]  # CRM country items by Tryton country code
    categories: dict[str, int]  # CRM category items by label

    @property
    def engine(self) -> Engine:
        return Engine(self.database, self.clients)

    def cycle(self) -> RunSummary:
        [summary] = run_cycle(self.engine)
        return summary

    def import_customers(self, erp_keys: list[str] | None = None) -> SyncJob:
        job = imports.start_import(self.engine, self.connection_id, CUSTOMER, erp_keys=erp_keys)
        done = imports.run_import(self.engine, job.id)
        assert done is not None
        return done

    def set_policy(self, policy: Policy) -> None:
        with self.database.session() as session:
            configuration.save_policy(session, self.connection(session), policy=policy, no_blank_overwrite=False)

    def company_of(self, erp_key: str) -> int:
        return self.link_of(erp_key).entity_id

    def link_of(self, erp_key: str) -> ErpLink:
        with self.database.read_session() as session:
            found = links.links_by_erp_key(session, self.connection_id, CUSTOMER, [erp_key])
        return found[erp_key]

    def linked_keys(self) -> set[str]:
        with self.database.read_session() as session:
            return set(session.scalars(select(ErpLink.erp_key).where(ErpLink.connection_id == self.connection_id)))

    def crm(self, company_id: int) -> dict[str, Any]:
        with self.database.read_session() as session:
            return read_record(session, EntityType.COMPANY, company_id).values

    def crm_update(self, company_id: int, **values: Any) -> None:
        with self.database.session() as session:
            write_record(session, EntityType.COMPANY, company_id, values, changed_by=user_origin(1))

    def companies(self) -> int:
        with self.database.read_session() as session:
            return int(session.scalar(select(func.count()).select_from(Company)) or 0)

    def crm_seq(self) -> int:
        with self.database.read_session() as session:
            return int(session.scalar(select(ChangeCounter.value)) or 0)

    def events(self, run_id: int) -> list[SyncEvent]:
        with self.database.read_session() as session:
            query = select(SyncEvent).where(SyncEvent.run_id == run_id).order_by(SyncEvent.id)
            return list(session.scalars(query))

    def connection(self, session: Session) -> ErpConnection:
        connection = session.get(ErpConnection, self.connection_id)
        assert connection is not None
        return connection


def customer_mapping() -> ActorTypeMapping:
    rows = tuple(FieldMapping(erp_field=erp, crm_field=crm, direction=Direction.BOTH) for erp, crm in SYNCED.items())
    return ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)


def paired_by_label(erp_items: list[ListItem], crm_items: dict[str, int], list_name: str) -> ListMapping:
    """The list mapping an administrator makes: each ERP item paired with the CRM item of the same label."""
    items = {item.key: crm_items.get(item.label) for item in erp_items}
    return ListMapping(list_name=list_name, crm_list=LISTS[list_name], items=items)


def configure(hub: Hub, crm_labels: dict[str, dict[str, int]]) -> None:
    """Map the customer fields, pair the lists by label, and switch the connection on."""
    with hub.database.read_session() as session:
        connection = hub.connection(session)
    erp_lists = configuration_loading.read_erp_lists(hub.clients, connection, LISTS)  # no transaction open meanwhile
    list_mappings = {name: paired_by_label(erp_lists[name], crm_labels[name], name) for name in LISTS}
    with hub.database.session() as session:
        connection = hub.connection(session)
        configuration.save_mapping(session, connection, customer_mapping(), erp_lists=erp_lists)
        configuration.save_list_mappings(session, connection, list_mappings, erp_lists=erp_lists)
        configuration.activate(session, connection, erp_lists=erp_lists)


def build_hub(database: Database, clients: ConnectorClients, connector_url: str, tryton: TrytonDesk) -> Hub:
    with database.session() as session:
        registered = add_connector(session, clients, name="Tryton", url=connector_url, secret=SECRET)
        draft = ConnectionDraft(name="Tryton", connector_id=registered.id, config=tryton.server.config())
        connection_id = create_connection(session, clients, draft).id
        labels = {
            "countries": {name: _item(session, CrmList.COUNTRY, name) for name in COUNTRY_NAMES.values()},
            "categories": {name: _item(session, CrmList.CATEGORY, name) for name in CATEGORIES},
        }
    countries = {code: labels["countries"][name] for code, name in COUNTRY_NAMES.items()}
    hub = Hub(database, clients, connection_id, countries, labels["categories"])
    configure(hub, labels)
    return hub


def _item(session: Session, crm_list: CrmList, label: str) -> int:
    return crm_lists.add_item(session, crm_list, label=label).id
