"""The Tryton connector passes the conformance kit against a real trytond: one test per rule."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.connectors.tryton.rpc import TrytonRpc
from erpsync.protocol import models as m
from erpsync.sdk.app import create_app
from erpsync.testing.conformance import ConformanceHooks, ConformanceTarget, conformance_tests
from erpsync.testing.conformance.report import as_text
from erpsync.testing.conformance.runner import run_conformance
from erpsync.testing.server import serve_in_thread
from erpsync.testing.tryton import TrytonServer, cache_dir, ensure_template, ensure_venv, tryton_server
from erpsync.testing.tryton_sales import Line, Sales

pytestmark = pytest.mark.tryton
SECRET = "tryton-conformance-secret-0123456789"


def deactivate_in_tryton(server: TrytonServer, actor_type: m.ActorType, erp_key: str) -> None:
    """What "deleted in the ERP" means in Tryton: a party is deactivated, a project (which cannot be) deleted."""
    with server.rpc() as rpc:
        if actor_type == m.ActorType.PROJECT:
            rpc.model("project.work", "delete", [int(erp_key)])
        else:
            rpc.write("party.party", [int(erp_key)], {"active": False})


def fit_tryton_rules(actor_type: m.ActorType, values: dict[str, m.Value]) -> dict[str, m.Value]:
    """Tryton refuses a project in a closing status below 100% progress: the kit's projects all stay complete."""
    if actor_type == m.ActorType.PROJECT and "progress" in values:
        return {**values, "progress": 1.0}
    return values


def give_a_customer_documents(rpc: TrytonRpc) -> None:
    """The documents rules read a customer's documents, which the protocol cannot create: a quote, an order, an
    overdue and a current invoice and a credit note, made in Tryton."""
    sales = Sales(rpc)
    (category,) = rpc.search("party.category", [["name", "=", "Customer"]])
    customer = sales.customer("Customer with documents", categories=[["add", [category]]])
    sales.sale(customer, [Line(1)], state="quotation")
    sales.sale(customer, [Line(2), Line(1, Decimal("40.00"))])
    sales.invoice(customer, [Line(3)], overdue_days=5)
    sales.invoice(customer, [Line(1)])
    sales.invoice(customer, [Line(-1)])


@pytest.fixture(scope="module")
def conformance_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConformanceTarget]:
    """One trytond and one served connector for the module: each rule's run works on records it creates itself."""
    cache = cache_dir()
    bin_dir = ensure_venv(cache)
    workdir = tmp_path_factory.mktemp("tryton-conformance")
    with tryton_server(bin_dir=bin_dir, template=ensure_template(cache, bin_dir), workdir=workdir) as server:
        with server.rpc() as rpc:  # a database in use has party categories; the kit wants items in every list
            rpc.create("party.category", [{"name": "Retail"}, {"name": "Wholesale"}])
            give_a_customer_documents(rpc)
        connector = TrytonConnector()
        with serve_in_thread(create_app(connector, secret=SECRET)) as url:
            hooks = ConformanceHooks(
                delete_actor=lambda actor_type, key: deactivate_in_tryton(server, actor_type, key),
                adjust_sample=fit_tryton_rules,
            )
            yield ConformanceTarget(url, SECRET, server.config(), hooks)
        connector.close()


test_tryton_connector_conforms = conformance_tests()


def test_the_language_rule_checks_the_german_tryton_loads(conformance_target: ConformanceTarget) -> None:
    """The language rule is not passed vacuously: the connector declares German (its database's) and Danish (its own
    texts), and answers each of them in it."""
    target = conformance_target
    report = run_conformance(target.url, secret=target.secret, config=target.config, rule_ids=["language"])
    text = " ".join(as_text(report).split())
    assert report.ok, text
    assert "declares ['en', 'da', 'de']" in text
    assert "de: " in text  # how many labels differ from English
    assert "da: " in text
