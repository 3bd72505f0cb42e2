"""The sample connector passes the conformance kit, through the kit's pytest entry point: one test per rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from erpsync.connectors.sample import SampleConnector, SampleErp
from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.sales_seed import generate_invoices, seed_documents
from erpsync.protocol import models as m
from erpsync.sdk.app import create_app
from erpsync.testing.conformance import ConformanceHooks, ConformanceTarget, conformance_tests
from erpsync.testing.server import serve_in_thread

SECRET = "sample-conformance-secret-0123456789"
# Searches include inactive records, so the kit's records with the checkbox off are searched too.
CONFIG: m.Config = {"company": "ACME", "user": "erpsync", "password": "demo", "include_inactive": True}


@pytest.fixture
def conformance_target(tmp_path: Path) -> Iterator[ConformanceTarget]:
    erp = SampleErp(tmp_path / "erp.sqlite")
    erp.add_company("ACME", "Acme Nordic A/S")
    erp.add_user("erpsync", "demo", iterations=1000)
    customer = erp.create_actor("ACME", m.ActorType.CUSTOMER, NewRecord({"name": "Documents A/S"}))
    seed_documents(erp, today=dt.date.today())  # a quote, orders, invoices: the documents rules read them
    generate_invoices(erp, 12, company="ACME", customer_key=customer, today=dt.date.today())
    with serve_in_thread(create_app(SampleConnector(erp), secret=SECRET)) as url:
        hooks = ConformanceHooks(delete_actor=partial(erp.delete_actor, "ACME"))
        yield ConformanceTarget(url, SECRET, CONFIG, hooks)
    erp.close()


test_sample_connector_conforms = conformance_tests()
