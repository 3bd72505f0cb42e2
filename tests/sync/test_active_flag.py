"""The CRM's active flag mapped to the sample connector's ``active`` checkbox over real HTTP, on both backends: it syncs
like any field in each direction, and a CRM sync filter can stop inactive records."""

from __future__ import annotations

from erpsync.protocol.models import Operator
from erpsync.sync.mapping import FieldMapping, FilterRestriction, SyncFilter
from erpsync.sync.merge import Direction
from support.sync_world import CUSTOMER, World, customer_mapping


def _with_active(world: World, sync_filter: SyncFilter | None = None) -> None:
    mapping = customer_mapping()
    rows = (*mapping.fields, FieldMapping(erp_field="active", crm_field="ACTIVE", direction=Direction.BOTH))
    update = {"fields": rows} | ({"sync_filter": sync_filter} if sync_filter else {})
    world.config = world.config.model_copy(update={"mappings": {CUSTOMER: mapping.model_copy(update=update)}})


def test_the_active_flag_syncs_both_ways_like_any_field(world: World) -> None:
    _with_active(world)
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example")
    world.erp_update(erp_key, active=False)
    [summary] = world.cycle()
    assert summary.status == "ok"
    assert world.crm_values(company_id)["ACTIVE"] is False
    assert world.get_link(link_id).state == "ok"
    world.crm_update(company_id, ACTIVE=True)
    world.cycle()
    assert world.erp_values(erp_key)["active"] is True
    assert world.erp_values(erp_key)["email"] == "a@acme.example"


def test_a_crm_filter_on_the_active_flag_stops_inactive_records(world: World) -> None:
    only_active = SyncFilter(crm=(FilterRestriction(field="ACTIVE", operator=Operator.EQ, values=(True,)),))
    _with_active(world, only_active)
    company_id, erp_key, link_id = world.linked_pair()
    world.crm_update(company_id, ACTIVE=False, EMAIL="late@acme.example")
    world.cycle()
    assert world.get_link(link_id).state == "filtered"
    assert world.erp_values(erp_key)["email"] != "late@acme.example"
