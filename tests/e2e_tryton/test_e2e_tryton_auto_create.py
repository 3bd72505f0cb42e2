"""Automatic creation against the real Tryton: parties a Tryton user creates become CRM companies, a party whose email
matches a CRM company links to it instead of creating another, and a new CRM company becomes a Tryton party."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record, user_origin
from erpsync.storage.tables import ErpLink
from erpsync.sync import auto_config
from erpsync.sync.mapping import AutoCreate, AutoDirection

from .tryton_world import CUSTOMER, Hub, TrytonDesk

pytestmark = pytest.mark.tryton


def test_tryton_parties_and_crm_companies_are_created_and_matched_automatically(hub: Hub, tryton: TrytonDesk) -> None:
    hub.cycle()  # the feeds start: automatic creation is off, nothing is created
    assert hub.companies() == 0
    with hub.database.session() as session:
        existing = create_record(
            session, EntityType.COMPANY, {"NAME": "Fjord", "EMAIL": "hej@fjord.example"}, changed_by=user_origin(1)
        ).id
        auto = AutoCreate(direction=AutoDirection.BOTH, match=("email",))
        auto_config.save_auto_create(session, hub.connection(session), CUSTOMER, auto, by=None)
    fjord = tryton.create_customer("Fjord ApS", email="hej@fjord.example", country="DK")
    nordlys = tryton.create_customer("Nordlys", email="info@nordlys.example", category="Retail")

    hub.cycle()

    assert hub.company_of(fjord) == existing  # an exact match links instead of creating
    assert hub.crm(existing)["NAME"] == "Fjord ApS"  # then syncs: Tryton's values on the first link
    created = hub.crm(hub.company_of(nordlys))
    assert (created["NAME"], created["EMAIL"], created["CATEGORY"]) == (
        "Nordlys",
        "info@nordlys.example",
        hub.categories["Retail"],
    )
    with hub.database.session() as session:
        havblik = create_record(
            session, EntityType.COMPANY, {"NAME": "Havblik", "EMAIL": "post@havblik.example"}, changed_by=user_origin(1)
        ).id
    customers_before = tryton.customer_keys()

    hub.cycle()

    with hub.database.read_session() as session:
        key = session.scalar(select(ErpLink.erp_key).where(ErpLink.entity_id == havblik))
    assert key is not None
    assert tryton.customer_keys() - customers_before == {key}  # one new Tryton customer, no more
    party = tryton.party(key)
    assert (party.name, party.email) == ("Havblik", "post@havblik.example")
    companies = hub.companies()
    hub.cycle()
    assert hub.companies() == companies  # a further run creates nothing
    assert tryton.customer_keys() - customers_before == {key}
