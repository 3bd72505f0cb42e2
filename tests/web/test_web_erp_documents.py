"""The Documents part of the ERP tab over real HTTP: the tab renders at once with the part to load, the part shows
the documents, the overdue invoice and the balance in the page's language, lines on demand; an ERP that hangs or
fails gives the part a clear message while the rest of the tab renders."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync.connectors.sample import SampleConnector
from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.sales import Line, NewDocument
from erpsync.crypto import cipher_for
from erpsync.errors import TransientError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.sdk.app import create_app as connector_app
from erpsync.settings import Settings
from erpsync.sync.erp_tab.documents import recent
from erpsync.testing.documents import LinkedCompany, link_company
from erpsync.testing.sample import COMPANY, RunningSample
from erpsync.testing.server import serve_in_thread

from .conftest import Site, served_site

TODAY = dt.date.today()
HANG_SECONDS = 60.0
"""How long a hanging connector holds a documents request (released when its test ends): far beyond the hub's budget,
so a page that waited for it shows even on a machine too busy for tight timings."""
BUDGET_SECONDS = 1.0


class MoodyConnector(SampleConnector):
    """The sample connector whose documents operations hang or fail when told to."""

    mood = "fine"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.released = threading.Event()

    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        if self.mood == "hangs":
            self.released.wait(HANG_SECONDS)
        if self.mood == "fails":
            raise TransientError("the ERP's database is restarting")
        return super().documents(request)


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[Site]:
    """The hub with an interactive budget of a second: what a person waits for a connector at most."""
    with served_site(sqlite_template, tmp_path, interactive_budget_seconds=BUDGET_SECONDS) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    recent.clear()
    yield
    recent.clear()


@pytest.fixture
def moody(sample: RunningSample) -> Iterator[tuple[MoodyConnector, str]]:
    connector = MoodyConnector(sample.erp, connections=sample.connector.connections)
    with serve_in_thread(connector_app(connector, secret=sample.secret)) as url:
        try:
            yield connector, url
        finally:
            connector.released.set()  # a hanging request ends with its test


@pytest.fixture
def linked(site: Site, sample: RunningSample, moody: tuple[MoodyConnector, str], tmp_path: Path) -> LinkedCompany:
    site.add_user("anna", licences=("erp",))
    erp_key = sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord({"name": "Fjord Fisk AS"}))
    line = Line("Herring, 10 kg", "FISH-10", Decimal(3), "box", Decimal("410.00"))
    documents = [
        NewDocument(int(erp_key), d.DocumentKind.ORDER, TODAY, d.DocumentState.OPEN, "DKK", (line,), Decimal("0.25")),
        NewDocument(
            int(erp_key),
            d.DocumentKind.INVOICE,
            TODAY - dt.timedelta(days=50),
            d.DocumentState.OPEN,
            "DKK",
            (line,),
            Decimal("0.25"),
            due_date=TODAY - dt.timedelta(days=20),
            reference="<script>alert(1)</script>",
        ),
    ]
    sample.erp.add_documents(COMPANY, documents)
    cipher = cipher_for(Settings(data_dir=tmp_path / "data"))
    return link_company(
        site.database,
        cipher,
        url=moody[1],
        secret=sample.secret,
        config=sample.config,
        erp_key=erp_key,
        name="Fjord Fisk AS",
    )


def _urls(linked: LinkedCompany) -> tuple[str, str]:
    tab = f"/companies/{linked.company_id}/erp"
    return tab, f"{tab}/{linked.connection_id}/documents"


def test_the_part_shows_documents_overdue_and_balance_in_both_languages(site: Site, linked: LinkedCompany) -> None:
    anna = site.signed_in("anna")
    tab, part = _urls(linked)
    page = anna.get(tab).text
    assert f'hx-get="{part}"' in page  # loaded after the tab
    english = anna.get(part, headers={"HX-Request": "true"}).text
    assert "Invoice" in english
    assert "Order" in english
    assert "Overdue" in english
    assert "Balance: DKK1,537.50" in english
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in english  # the ERP's text is text
    assert "<script>alert" not in english
    anna.post("/language", {"language": "da"})
    danish = anna.get(part, headers={"HX-Request": "true"}).text
    assert "Faktura" in danish
    assert "Forfalden" in danish
    assert "Saldo: 1.537,50\xa0kr." in danish  # Babel: a no-break space before the currency


def test_lines_on_demand(site: Site, linked: LinkedCompany, sample: RunningSample) -> None:
    anna = site.signed_in("anna")
    _, part = _urls(linked)
    (document, *_) = sample.erp.documents(COMPANY, m.ActorType.CUSTOMER, linked.erp_key, d.DocumentFilters())
    lines = anna.get(f"{part}/lines", params={"key": document.key}, headers={"HX-Request": "true"})
    assert lines.status_code == 200
    assert "Herring, 10 kg" in lines.text
    assert "DKK1,230.00" in lines.text


@pytest.mark.parametrize("mood", ["hangs", "fails"])
def test_an_erp_that_hangs_or_fails_gives_a_message_and_the_tab_renders(
    mood: str, site: Site, linked: LinkedCompany, moody: tuple[MoodyConnector, str]
) -> None:
    moody[0].mood = mood
    anna = site.signed_in("anna")
    tab, part = _urls(linked)
    started = time.monotonic()
    page = anna.get(tab)
    assert page.status_code == 200
    assert "Fjord Fisk AS" in page.text  # the live ERP fields: the rest of the tab is there
    assert time.monotonic() - started < HANG_SECONDS / 2  # the tab never waits on the documents
    answer = anna.get(part, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert "The ERP did not answer, so its documents cannot be shown now." in answer.text
    assert time.monotonic() - started < HANG_SECONDS


def test_recent_documents_by_period_and_open_ones(site: Site, linked: LinkedCompany) -> None:
    anna = site.signed_in("anna")
    _, part = _urls(linked)
    htmx = {"HX-Request": "true"}
    recent_ones = anna.get(part, params={"days": "30"}, headers=htmx).text
    assert recent_ones.count("data-document=") == 1  # the order of today; the invoice is 50 days old
    assert '<option value="30" selected>' in recent_ones
    everything = anna.get(part, params={"days": "0", "open": "1", "kind": "invoice"}, headers=htmx).text
    assert everything.count("data-document=") == 1
    assert "data-overdue" in everything
