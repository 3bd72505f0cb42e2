"""Sync filters on both sides, against the sample connector over real HTTP, on both backends: a record outside the
ERP or the CRM filter does not sync either way and its link says why; back inside, it syncs again; no filter changes
nothing; the preview counts what a filter would stop without writing; a bad filter is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from erpsync.crm import lists
from erpsync.crm.fields import CrmList, EntityType
from erpsync.protocol.models import Operator
from erpsync.storage.tables import ErpConnection, SyncActorMapping
from erpsync.sync import configuration, configuration_loading, filter_config, filters, imports, resync
from erpsync.sync.mapping import FilterRestriction, SyncFilter
from support.sync_world import CUSTOMER, World

WHOLESALE_ONLY = SyncFilter(
    erp=(FilterRestriction(field="customer_group", operator=Operator.ONE_OF, values=("WHOLESALE",)),)
)


def _with_filter(world: World, sync_filter: SyncFilter) -> None:
    mapping = world.config.mappings[CUSTOMER].model_copy(update={"sync_filter": sync_filter})
    world.config = world.config.model_copy(update={"mappings": {CUSTOMER: mapping}})


def _pair_in_group(world: World, group: str, **values: str) -> tuple[int, str, int]:
    company_id, erp_key, link_id = world.linked_pair(**values)
    world.erp_update(erp_key, customer_group=group)  # a field the mapping does not sync
    world.cycle()
    return company_id, erp_key, link_id


def _business(world: World, label: str) -> int:
    with world.database.session() as session:
        return lists.add_item(session, CrmList.BUSINESS, label=label).id


def test_a_record_outside_the_erp_filter_does_not_sync_and_says_why_then_syncs_back_inside(world: World) -> None:
    company_id, erp_key, link_id = _pair_in_group(world, "RETAIL", email="a@acme.example")
    _with_filter(world, WHOLESALE_ONLY)
    world.erp_update(erp_key, email="erp@acme.example")
    world.crm_update(company_id, PHONE="+45 1234")
    [summary] = world.cycle()
    link = world.get_link(link_id)
    assert link.state == "filtered"
    assert (link.last_error or "").startswith(filters.OUTSIDE_FILTER)
    assert "ERP: customer_group oneof WHOLESALE" in (link.last_error or "")
    assert world.crm_values(company_id)["EMAIL"] == "a@acme.example"  # no writes either way
    assert world.erp_values(erp_key)["phone"] in (None, "")
    assert (summary.counts.crm_writes, summary.counts.erp_writes, summary.counts.errors) == (0, 0, 0)
    world.erp_update(erp_key, customer_group="WHOLESALE")  # back inside
    world.cycle()
    assert world.get_link(link_id).state == "ok"
    assert world.crm_values(company_id)["EMAIL"] == "erp@acme.example"
    assert world.erp_values(erp_key)["phone"] == "+45 1234"


def test_a_record_outside_the_crm_filter_does_not_sync_and_says_why_then_syncs_back_inside(world: World) -> None:
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example")
    partner = _business(world, "Partner")
    _with_filter(
        world, SyncFilter(crm=(FilterRestriction(field="BUSINESS", operator=Operator.ONE_OF, values=(partner,)),))
    )
    world.erp_update(erp_key, email="erp@acme.example")
    world.cycle()
    link = world.get_link(link_id)
    assert link.state == "filtered"
    assert f"CRM: BUSINESS oneof {partner}" in (link.last_error or "")
    assert world.crm_values(company_id)["EMAIL"] == "a@acme.example"
    world.crm_update(company_id, BUSINESS=partner)  # back inside
    world.cycle()
    assert world.get_link(link_id).state == "ok"
    assert world.crm_values(company_id)["EMAIL"] == "erp@acme.example"


def test_no_filter_changes_nothing(world: World) -> None:
    assert world.config.mappings[CUSTOMER].sync_filter.empty
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example")
    world.erp_update(erp_key, email="erp@acme.example")
    world.cycle()
    assert (world.get_link(link_id).state, world.crm_values(company_id)["EMAIL"]) == ("ok", "erp@acme.example")


def test_the_preview_counts_what_a_filter_would_stop_without_writing(world: World) -> None:
    pairs = [_pair_in_group(world, group) for group in ("RETAIL", "WHOLESALE", "RETAIL")]
    before = [(link.state, link.agreed_json) for link in (world.get_link(p[2]) for p in pairs)]
    shown = filter_config.preview(world.engine, world.connection_id, CUSTOMER, WHOLESALE_ONLY)
    assert (shown.links, shown.checked, shown.would_stop, shown.would_resume, shown.bounded) == (3, 3, 2, 0, False)
    crm_only = SyncFilter(crm=(FilterRestriction(field="NAME", operator=Operator.BEGINS, values=("zz",)),))
    assert filter_config.preview(world.engine, world.connection_id, CUSTOMER, crm_only).would_stop == 3
    assert [(link.state, link.agreed_json) for link in (world.get_link(p[2]) for p in pairs)] == before
    with world.database.read_session() as session:
        assert all(stored == {} for stored in session.scalars(select(SyncActorMapping.filter_json)))


def test_a_saved_filter_is_kept_by_a_mapping_save_and_a_bad_one_is_refused(world: World) -> None:
    with world.database.sessions() as session:
        connection = session.get(ErpConnection, world.connection_id)
        assert connection is not None
        filter_config.save_filter(session, connection, CUSTOMER, WHOLESALE_ONLY, by=None)
        with session.begin():
            mapping = world.config.mappings[CUSTOMER]
            rows = tuple(row for row in mapping.fields if row.erp_field != "country")  # no list mapping stored here
            configuration.save_mapping(session, connection, mapping.model_copy(update={"fields": rows}), erp_lists={})
        assert configuration_loading.mapping_of(session, connection, CUSTOMER).sync_filter == WHOLESALE_ONLY
        bad = SyncFilter(
            erp=(FilterRestriction(field="nope", operator=Operator.EQ, values=("x",)),),
            crm=(FilterRestriction(field="NAME", operator=Operator.BETWEEN, values=("a",)),),
        )
        with pytest.raises(configuration.ConfigurationRefusedError) as refused:
            filter_config.save_filter(session, connection, CUSTOMER, bad, by=None)
        assert [(p.scope, p.field) for p in refused.value.problems] == [
            ("filter.erp.0", "nope"),
            ("filter.crm.0", "NAME"),
        ]
        assert configuration_loading.mapping_of(session, connection, CUSTOMER).sync_filter == WHOLESALE_ONLY


@pytest.mark.parametrize(
    ("operator", "values", "value", "inside"),
    [
        (Operator.EQ, ("acme",), "ACME", True),
        (Operator.NE, ("acme",), None, True),
        (Operator.GE, (10,), 12, True),
        (Operator.GE, (10,), None, False),
        (Operator.BETWEEN, (1, 5), 7, False),
        (Operator.CONTAINS, ("cm",), "Acme", True),
        (Operator.NOT_CONTAINS, ("cm",), None, True),
        (Operator.AFTER, ("2024-01-01",), "2024-06-01", True),
        (Operator.NOT_ONE_OF, ("A", "B"), "b", False),
        (Operator.GT, ("x",), 3, False),
    ],
)
def test_each_operator_is_evaluated_in_the_hub(
    operator: Operator, values: tuple[object, ...], value: object, inside: bool
) -> None:
    restriction = FilterRestriction(field="f", operator=operator, values=values)  # type: ignore[arg-type]
    assert filters.holds(restriction, value) is inside


def test_the_crm_filter_reads_entity_fields_of_persons_too() -> None:
    problems = filters.filter_problems(
        SyncFilter(crm=(FilterRestriction(field="LASTNAME", operator=Operator.BEGINS, values=("a",)),)),
        [],
        EntityType.PERSON,
    )
    assert problems == []


def test_an_import_honours_the_erp_filter(world: World) -> None:
    inside = world.erp_customer(name="Wholesaler", customer_group="WHOLESALE")
    outside = world.erp_customer(name="Shop", customer_group="RETAIL")
    _with_filter(world, WHOLESALE_ONLY)
    rows = {row.erp_key: row for row in imports.preview(world.engine, world.connection_id, CUSTOMER)}
    assert rows[inside].verb is imports.Verb.CREATE
    assert (rows[outside].verb, rows[outside].reason) == (
        imports.Verb.SKIP,
        "outside the sync filter of the actor type",
    )
    job = imports.run_import(world.engine, imports.start_import(world.engine, world.connection_id, CUSTOMER).id)
    assert job is not None
    assert (job.created, job.skipped) == (1, 1)


def test_a_resync_leaves_a_record_outside_the_filter_alone(world: World) -> None:
    company_id, erp_key, _ = _pair_in_group(world, "RETAIL", email="a@acme.example")
    world.erp_update(erp_key, email="erp@acme.example")
    _with_filter(world, WHOLESALE_ONLY)
    done = resync.run_resync(world.engine, resync.start_resync(world.engine, world.connection_id).id)
    assert done is not None
    assert done.status == "done"
    assert world.erp_values(erp_key)["email"] == "erp@acme.example"
    assert world.crm_values(company_id)["EMAIL"] == "a@acme.example"


def test_the_preview_says_when_it_looked_at_the_first_links_only(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for group in ("RETAIL", "RETAIL", "WHOLESALE"):
        _pair_in_group(world, group)
    monkeypatch.setattr(filter_config, "PREVIEW_LIMIT", 2)  # the bound, made small: 1,000 links is a slow test
    shown = filter_config.preview(world.engine, world.connection_id, CUSTOMER, WHOLESALE_ONLY)
    assert (shown.links, shown.checked, shown.would_stop, shown.bounded) == (3, 2, 2, True)
