"""A Tryton customer's sales and invoices on the ERP tab, through the hub's REST API over real HTTP: made in Tryton
through its own buttons, read live through the Tryton connector, never copied into the CRM."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpsync import accounts
from erpsync.app import create_app
from erpsync.settings import Settings
from erpsync.sync.erp_tab.documents import recent
from erpsync.testing.server import serve_in_thread
from erpsync.testing.tryton_books import CREDIT_LIMIT
from erpsync.testing.tryton_sales import Line, Sales

from .conftest import HUB_KEY
from .tryton_world import Hub, TrytonDesk

pytestmark = pytest.mark.tryton
PASSWORD = "a good password"
TODAY = dt.date.today()


class Api:
    """The hub's app served over HTTP on the test's hub database, and its users signing in."""

    def __init__(self, hub: Hub, url: str) -> None:
        self.hub = hub
        self.url = url

    def sign_in(self, login: str, *, licences: tuple[str, ...] = ("erp",)) -> httpx.Client:
        with self.hub.database.session() as session:
            accounts.create_user(session, login=login, password=PASSWORD, licences=licences)
        client = httpx.Client(base_url=f"{self.url}/api/v1", timeout=60)
        answer = client.post("/auth/token", data={"username": login, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return client


@pytest.fixture
def api(hub: Hub, tmp_path: Path) -> Iterator[Api]:
    recent.clear()
    settings = Settings(data_dir=tmp_path / "data", secret_key=HUB_KEY)
    with serve_in_thread(create_app(settings, database=hub.database)) as url:
        yield Api(hub, url)
    recent.clear()


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_tryton_customer_s_orders_invoices_and_balance_on_the_erp_tab(hub: Hub, tryton: TrytonDesk, api: Api) -> None:
    sales = Sales(tryton.rpc)
    key = tryton.create_customer("Nordlys Trading")
    party = int(key)
    sales.sale(party, [Line(1)], state="quotation")
    sales.sale(party, [Line(4), Line(1, Decimal("20.00"))], sale_date=TODAY - dt.timedelta(days=3))
    overdue = sales.invoice(party, [Line(2)], overdue_days=12)
    paid = sales.invoice(party, [Line(1)])
    sales.pay(paid, Decimal("125.00"))
    sales.invoice(party, [Line(-1, Decimal("40.00"))])
    hub.import_customers([key])
    documents = f"/companies/{hub.company_of(key)}/erp/{hub.connection_id}/documents"

    with closing(api.sign_in("anna")) as anna:
        view = ok(anna.get(documents))
        rows = {row["key"]: row for row in view["documents"]}
        assert (view["total"], len(rows)) == (6, 6)  # 2 sales, 3 invoices, and the order's draft invoice
        assert [row["kind"] for row in view["documents"]].count("order") == 1
        late = rows[f"invoice-{overdue}"]
        assert (late["state"], late["overdue"]) == ("open", True)
        assert late["gross"] == late["open_amount"] == "250.00"
        assert late["due_date"] == (TODAY - dt.timedelta(days=12)).isoformat()
        assert (rows[f"invoice-{paid}"]["state"], rows[f"invoice-{paid}"]["overdue"]) == ("closed", False)
        credit = next(row for row in view["documents"] if row["kind"] == "credit_note")
        assert (credit["gross"], credit["open_amount"]) == ("50.00", "50.00")
        assert view["balance"] == {
            "currency": "EUR",
            "open": "200.00",  # 250 overdue less the 50 credited; the paid one owes nothing
            "overdue": "250.00",
            "credit_limit": str(CREDIT_LIMIT),
        }
        assert view["overdue"] is True

        orders = ok(anna.get(documents, params={"kind": "order"}))["documents"]
        (order,) = orders
        lines = ok(anna.get(f"{documents}/lines", params={"document_key": order["key"]}))
        assert [(line["quantity"], line["unit_price"], line["net"]) for line in lines["lines"]] == [
            ("4", "100.00", "400.00"),
            ("1", "20.00", "20.00"),
        ]
        assert lines["document"]["net"] == order["net"] == "420.00"

    with closing(api.sign_in("bo", licences=())) as bo:
        assert bo.get(documents).status_code == 403
