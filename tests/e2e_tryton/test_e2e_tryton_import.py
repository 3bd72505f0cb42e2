"""Customers a Tryton user created are imported into the CRM through the import service, once, with mapped values."""

from __future__ import annotations

import pytest

from .tryton_world import Hub, TrytonDesk

pytestmark = pytest.mark.tryton


def test_tryton_customers_are_imported_and_linked_once_with_their_values(hub: Hub, tryton: TrytonDesk) -> None:
    made = {
        "Nordlys ApS": tryton.create_customer(
            "Nordlys ApS", email="info@nordlys.example", phone="+45 1234", country="DK", category="Retail"
        ),
        "Fjell AS": tryton.create_customer("Fjell AS", email="post@fjell.example", country="NO", category="Wholesale"),
        "Plain Ltd": tryton.create_customer("Plain Ltd"),
    }
    supplier = tryton.create_customer("Only Supplies", email="s@supplies.example", role="Supplier")

    job = hub.import_customers()

    customers = tryton.customer_keys()  # every customer in this Tryton, as Tryton itself counts them
    assert set(made.values()) <= customers
    assert supplier not in customers
    assert (job.status, job.created, job.linked, job.failed) == ("done", len(customers), 0, 0)
    assert hub.linked_keys() == customers
    assert hub.companies() == len(customers)
    nordlys = hub.crm(hub.company_of(made["Nordlys ApS"]))
    assert (nordlys["NAME"], nordlys["EMAIL"], nordlys["PHONE"]) == ("Nordlys ApS", "info@nordlys.example", "+45 1234")
    assert (nordlys["COUNTRY"], nordlys["CATEGORY"]) == (hub.countries["DK"], hub.categories["Retail"])
    fjell = hub.crm(hub.company_of(made["Fjell AS"]))
    assert (fjell["NAME"], fjell["EMAIL"], fjell["PHONE"]) == ("Fjell AS", "post@fjell.example", None)
    assert (fjell["COUNTRY"], fjell["CATEGORY"]) == (hub.countries["NO"], hub.categories["Wholesale"])
    plain = hub.crm(hub.company_of(made["Plain Ltd"]))
    assert (plain["NAME"], plain["EMAIL"], plain["COUNTRY"], plain["CATEGORY"]) == ("Plain Ltd", None, None, None)

    quiet = hub.cycle()  # the import left the ERP feed where its read ended
    assert (quiet.counts.records, quiet.counts.crm_writes) == (0, 0)
    tryton.edit(made["Fjell AS"], email="salg@fjell.example")
    changed = hub.cycle()
    assert (changed.counts.records, changed.counts.crm_writes) == (1, 1)
    assert hub.crm(hub.company_of(made["Fjell AS"]))["EMAIL"] == "salg@fjell.example"
    assert hub.cycle().counts.records == 0

    again = hub.import_customers()

    assert (again.status, again.created, again.linked) == ("done", 0, len(customers))
    assert hub.companies() == len(customers)
    assert hub.linked_keys() == customers
