"""An existing Tryton database as a company has it: the config chooses customers, suppliers and persons from what
Tryton already holds, and the connector creates nothing in Tryton's configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.errors import ValidationError
from erpsync.protocol import models as m
from erpsync.testing.tryton import TrytonServer

from .conftest import CONNECTION, saved_connector

pytestmark = pytest.mark.tryton
T = m.ActorType
SETUP_MODELS = ("party.category", "party.relation.type")


def plain(tryton: TrytonServer) -> m.Config:
    """The connection as an administrator saves it for a company's database: the config's defaults."""
    return {key: value for key, value in tryton.config().items() if key in ("url", "database", "user", "password")}


@pytest.fixture
def company_data(tryton: TrytonServer) -> dict[str, int]:
    """Parties as a company's users made them: no erpsync category, an "Employee of" relation of their own."""
    with tryton.rpc() as rpc:
        (retail,) = rpc.create("party.category", [{"name": "Retail"}])
        employee_of, employer_of = rpc.create("party.relation.type", [{"name": "Employee of"}, {"name": "Employer of"}])
        rpc.write("party.relation.type", [employee_of], {"reverse": employer_of})
        rpc.write("party.relation.type", [employer_of], {"reverse": employee_of})
        shop, plant = rpc.create(
            "party.party", [{"name": "Shop", "categories": [["add", [retail]]]}, {"name": "Plant"}]
        )
        (kari,) = rpc.create(
            "party.party", [{"name": "Kari", "relations": [["create", [{"to": shop, "type": employee_of}]]]}]
        )
    return {"retail": retail, "shop": shop, "plant": plant, "kari": kari}


def counts(tryton: TrytonServer) -> dict[str, int]:
    with tryton.rpc() as rpc:
        return {model: len(rpc.search(model, [])) for model in SETUP_MODELS}


@pytest.fixture
def open_connector(tmp_path: Path) -> Iterator[TrytonConnector]:
    connector = TrytonConnector()
    yield connector
    connector.close()


def save(connector: TrytonConnector, config: m.Config) -> None:
    connector.save_connection(m.SaveConnectionRequest(connection_id=CONNECTION, config=config))


def full_read(connector: TrytonConnector, actor_type: T) -> m.ChangesResponse:
    request = m.ChangesRequest(connection_id=CONNECTION, actor_type=actor_type, field_keys=["name"], limit=500)
    return connector.changes(request)


def test_by_default_every_party_but_the_company_is_a_customer_and_nothing_is_created(
    tryton: TrytonServer, company_data: dict[str, int], open_connector: TrytonConnector
) -> None:
    before = counts(tryton)
    save(open_connector, plain(tryton))
    customers = full_read(open_connector, T.CUSTOMER)
    assert {a.fields["name"] for a in customers.actors} == {"Shop", "Plant", "Kari"}
    assert customers.total == 3
    assert full_read(open_connector, T.SUPPLIER).actors == []
    types = open_connector.actor_types(m.ConnectionRequest(connection_id=CONNECTION)).actor_types
    assert T.PERSON not in types  # no relation type named: no persons
    categories = m.ListItemsRequest(connection_id=CONNECTION, list_name="categories")
    assert [item.label for item in open_connector.list_items(categories).items] == ["Customer", "Retail", "Supplier"]
    assert counts(tryton) == before


def test_a_category_chooses_the_customers_and_a_relation_type_the_persons(
    tryton: TrytonServer, company_data: dict[str, int], open_connector: TrytonConnector
) -> None:
    before = counts(tryton)
    config = {**plain(tryton), "customers": "category", "customer_category": "Retail"}
    save(open_connector, {**config, "suppliers": "all", "person_relation": "Employee of"})
    customers = full_read(open_connector, T.CUSTOMER)
    assert [a.erp_key for a in customers.actors] == [str(company_data["shop"])]
    partners = full_read(open_connector, T.PARTNER)
    assert [a.erp_key for a in partners.actors] == [str(company_data["shop"])]
    persons = full_read(open_connector, T.PERSON)
    assert [(a.erp_key, a.parent_type, a.parent_key) for a in persons.actors] == [
        (str(company_data["kari"]), T.PARTNER, str(company_data["shop"]))
    ]
    category_items = m.ListItemsRequest(connection_id=CONNECTION, list_name="categories")
    assert "Retail" not in [item.label for item in open_connector.list_items(category_items).items]
    assert counts(tryton) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"customers": "category", "customer_category": "Wholesale"}, "no party category named 'Wholesale'"),
        ({"customers": "category"}, "name the party category in customer_category"),
        ({"suppliers": "vip"}, "suppliers must be one of"),
        ({"person_relation": "Works at"}, "no contact relation type named 'Works at'"),
    ],
)
def test_a_missing_category_or_relation_type_is_named_and_not_created(
    tryton: TrytonServer, open_connector: TrytonConnector, change: m.Config, message: str
) -> None:
    before = counts(tryton)
    with pytest.raises(ValidationError, match=message):
        open_connector.test_config(m.TestConfigRequest(config={**plain(tryton), **change}))
    assert counts(tryton) == before


def test_the_role_rules_are_listed_before_the_connection_exists(open_connector: TrytonConnector) -> None:
    fields = {field.key: field for field in open_connector.config_fields().fields}
    assert (fields["customers"].list_name, fields["customers"].default, fields["suppliers"].default) == (
        "role_rules",
        "all",
        "none",
    )
    request = m.ListItemsRequest(connection_id="new", list_name="role_rules")
    assert [item.key for item in open_connector.list_items(request).items] == [
        "all",
        "category",
        "traded",
        "payment_term",
        "none",
    ]


def test_a_customer_created_under_every_party_gets_no_category(
    tryton: TrytonServer, company_data: dict[str, int], tmp_path: Path
) -> None:
    with saved_connector(tryton, tmp_path / "c.sqlite") as connector:
        save(connector, plain(tryton))
        actor = m.Actor(actor_type=T.CUSTOMER, fields={"name": "Walk-in"})
        request = m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key="walk-in")
        created = connector.create_actor(request).actor
        assert created is not None
        with tryton.rpc() as rpc:
            (row,) = rpc.read("party.party", [int(created.erp_key or 0)], ["categories"])
        assert row["categories"] == []


@pytest.fixture
def trade(tryton: TrytonServer) -> dict[str, int]:
    """Parties known by what the company does with them: a sale, a purchase (one cancelled), payment terms."""
    with tryton.rpc() as rpc:
        # A company without a default customer payment term (the template's books set one, which every new party
        # would take): only the parties given a term by hand have one.
        rpc.write("account.configuration", [1], {"default_customer_payment_term": None})
        buyer, seller, both, lapsed, termed = rpc.create(
            "party.party", [{"name": name} for name in ("Buyer", "Seller", "Both", "Lapsed", "Termed")]
        )
        company, (currency,) = tryton.company_id, rpc.search("currency.currency", [], limit=1)
        order = {"company": company, "currency": currency}
        rpc.create("sale.sale", [{**order, "party": buyer}, {**order, "party": both}])
        (cancelled,) = rpc.create("purchase.purchase", [{**order, "party": lapsed}])
        rpc.model("purchase.purchase", "cancel", [cancelled])
        rpc.create("purchase.purchase", [{**order, "party": seller}, {**order, "party": both}])
        (net30,) = rpc.create(
            "account.invoice.payment_term", [{"name": "Net 30", "lines": [["create", [{"type": "remainder"}]]]}]
        )
        rpc.write("party.party", [termed], {"customer_payment_term": net30, "supplier_payment_term": net30})
        rpc.write("party.party", [buyer], {"supplier_payment_term": net30})
    return {"buyer": buyer, "seller": seller, "both": both, "lapsed": lapsed, "termed": termed}


def names(response: m.ChangesResponse) -> set[str]:
    return {str(actor.fields["name"]) for actor in response.actors}


def test_customers_and_suppliers_by_their_sales_and_purchases(
    tryton: TrytonServer, trade: dict[str, int], open_connector: TrytonConnector
) -> None:
    before = counts(tryton)
    save(open_connector, {**plain(tryton), "customers": "traded", "suppliers": "traded"})
    assert names(full_read(open_connector, T.CUSTOMER)) == {"Buyer", "Both"}
    assert names(full_read(open_connector, T.SUPPLIER)) == {"Seller", "Both"}  # not Lapsed: its purchase is cancelled
    partners = full_read(open_connector, T.PARTNER)
    assert (names(partners), partners.total) == ({"Both"}, 1)
    actor = m.Actor(actor_type=T.CUSTOMER, fields={"name": "New"})
    request = m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key="new")
    with pytest.raises(ValidationError, match="with its first order"):
        open_connector.create_actor(request)
    assert counts(tryton) == before


def test_customers_and_suppliers_by_their_payment_terms(
    tryton: TrytonServer, trade: dict[str, int], open_connector: TrytonConnector
) -> None:
    save(open_connector, {**plain(tryton), "customers": "payment_term", "suppliers": "payment_term"})
    assert names(full_read(open_connector, T.CUSTOMER)) == {"Termed"}
    assert names(full_read(open_connector, T.SUPPLIER)) == {"Termed", "Buyer"}
    assert names(full_read(open_connector, T.PARTNER)) == {"Termed"}
    with tryton.rpc() as rpc:
        work = {"name": "Fit-out", "type": "project", "company": tryton.company_id, "party": trade["buyer"]}
        rpc.create("project.work", [work])
    (project,) = full_read(open_connector, T.PROJECT).actors
    assert (project.parent_type, project.parent_key) == (T.SUPPLIER, str(trade["buyer"]))
