"""The ERP tab's Documents through the REST API with the sample connector over real HTTP: pages, filters, balance,
overdue, lines, the short cache and refresh, and who gets nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest

from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.sales import Line, NewDocument
from erpsync.connectors.sample.sales_seed import generate_invoices
from erpsync.crm.fields import EntityType
from erpsync.protocol import documents as d
from erpsync.protocol.models import ActorType
from erpsync.sync import links
from erpsync.sync.erp_tab.documents import recent
from erpsync.testing.sample import COMPANY

from .conftest import Hub, Synced, ok

TODAY = dt.date.today()
CUSTOMER = ActorType.CUSTOMER
WIDGETS = (Line("Widgets", "W-1", Decimal(4), "pcs", Decimal("12.50")),)


def _document(customer: str, kind: d.DocumentKind, age: int, state: d.DocumentState, **extra: Any) -> NewDocument:
    day = TODAY - dt.timedelta(days=age)
    due = day + dt.timedelta(days=30) if kind is d.DocumentKind.INVOICE else None
    values: dict[str, Any] = {"due_date": due, "lines": WIDGETS, "tax_rate": Decimal("0.25"), **extra}
    return NewDocument(organisation_id=int(customer), kind=kind, date=day, state=state, currency="DKK", **values)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    recent.clear()
    yield
    recent.clear()


@pytest.fixture
def documents(synced: Synced) -> str:
    """The linked customer's documents: an order, a quote, an open invoice, an overdue one and a paid one."""
    synced.sample.erp.add_documents(
        COMPANY,
        [
            _document(synced.erp_key, d.DocumentKind.ORDER, 3, d.DocumentState.OPEN),
            _document(synced.erp_key, d.DocumentKind.QUOTE, 5, d.DocumentState.OPEN),
            _document(synced.erp_key, d.DocumentKind.INVOICE, 10, d.DocumentState.OPEN),
            _document(synced.erp_key, d.DocumentKind.INVOICE, 60, d.DocumentState.OPEN),  # overdue
            _document(synced.erp_key, d.DocumentKind.INVOICE, 100, d.DocumentState.CLOSED),
        ],
    )
    return f"/companies/{synced.company_id}/erp/{synced.connection_id}/documents"


def test_the_linked_companys_documents_with_balance_and_overdue(user: httpx.Client, documents: str) -> None:
    view = ok(user.get(documents))
    assert [(row["kind"], row["state"], row["overdue"]) for row in view["documents"]] == [
        ("order", "open", False),
        ("quote", "open", False),
        ("invoice", "open", False),
        ("invoice", "open", True),
        ("invoice", "closed", False),
    ]
    assert view["documents"][3]["gross"] == "62.50"  # a decimal string, never a float
    assert view["balance"] == {"currency": "DKK", "open": "125.00", "overdue": "62.50", "credit_limit": None}
    assert view["overdue"] is True
    assert (view["total"], view["next_cursor"]) == (5, None)
    assert view["kinds"] == ["quote", "order", "invoice", "credit_note"]


def test_filters_and_pages(user: httpx.Client, documents: str) -> None:
    invoices = ok(user.get(documents, params={"kind": "invoice", "state": "open"}))["documents"]
    assert [row["due_date"] is not None for row in invoices] == [True, True]
    first = ok(user.get(documents, params={"limit": 2}))
    second = ok(user.get(documents, params={"limit": 2, "cursor": first["next_cursor"]}))
    assert first["balance"] is not None
    assert second["balance"] is None  # only the first page carries it
    keys = [row["key"] for row in first["documents"] + second["documents"]]
    assert len(set(keys)) == 4
    period = {"date_from": (TODAY - dt.timedelta(days=10)).isoformat(), "date_to": TODAY.isoformat()}
    assert len(ok(user.get(documents, params=period))["documents"]) == 3
    assert user.get(documents, params={"kind": "dragon"}).status_code == 422
    assert user.get(documents, params={"limit": 101}).status_code == 422


def test_lines_of_a_document_and_not_of_another_customers(user: httpx.Client, documents: str, synced: Synced) -> None:
    key = ok(user.get(documents))["documents"][0]["key"]
    lines = ok(user.get(f"{documents}/lines", params={"document_key": key}))
    assert lines["document"]["key"] == key
    assert lines["lines"] == [
        {
            "description": "Widgets",
            "product_code": "W-1",
            "quantity": "4",
            "unit": "pcs",
            "unit_price": "12.50",
            "net": "50.00",
        }
    ]
    other = synced.sample.erp.create_actor(COMPANY, CUSTOMER, NewRecord({"name": "Somebody Else A/S"}))
    synced.sample.erp.add_documents(COMPANY, [_document(other, d.DocumentKind.ORDER, 1, d.DocumentState.OPEN)])
    everything = synced.sample.erp.documents(COMPANY, CUSTOMER, other, d.DocumentFilters())
    answer = user.get(f"{documents}/lines", params={"document_key": everything[0].key})
    assert answer.status_code == 404, answer.text


def test_answers_are_kept_a_short_while_and_refresh_reads_again(
    user: httpx.Client, documents: str, synced: Synced
) -> None:
    assert len(ok(user.get(documents))["documents"]) == 5
    synced.sample.erp.add_documents(
        COMPANY, [_document(synced.erp_key, d.DocumentKind.ORDER, 0, d.DocumentState.DRAFT)]
    )
    assert len(ok(user.get(documents))["documents"]) == 5  # from the cache
    assert len(ok(user.get(documents, params={"refresh": "true"}))["documents"]) == 6


def test_a_big_customer_pages_through_a_thousand_invoices(user: httpx.Client, synced: Synced, documents: str) -> None:
    generate_invoices(synced.sample.erp, 1000, company=COMPANY, customer_key=synced.erp_key, today=TODAY)
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        page = ok(user.get(documents, params={"limit": 100, **({"cursor": cursor} if cursor else {})}))
        seen += [row["key"] for row in page["documents"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(set(seen)) == len(seen) == 1005


def test_who_gets_nothing(hub: Hub, synced: Synced, documents: str, admin: httpx.Client) -> None:
    insider = hub.add_user("insider", licences=("erp",))
    hub.add_user("outsider", licences=("erp",))
    hub.add_user("unlicensed")
    visibility = {"everyone": False, "users": [insider], "groups": []}
    ok(admin.patch(f"/connections/{synced.connection_id}", json={"visibility": visibility}))
    with hub.sign_in("outsider") as outsider:
        answer = outsider.get(documents)
        assert answer.status_code == 404
        assert "no ERP connection" in answer.text
        assert "62.50" not in answer.text
    with hub.sign_in("unlicensed") as unlicensed:
        assert unlicensed.get(documents).status_code == 403
    with hub.sign_in("insider") as member:
        assert len(ok(member.get(documents))["documents"]) == 5
        unlinked = ok(admin.post("/companies", json={"name": "Not linked"}), 201)["id"]
        answer = member.get(f"/companies/{unlinked}/erp/{synced.connection_id}/documents")
        assert answer.status_code == 404
        assert "not linked" in answer.text


def test_a_linked_projects_own_documents(user: httpx.Client, synced: Synced, documents: str) -> None:
    rows = [{"erp_field": "name", "crm_field": "NAME", "direction": "both"}]
    base = f"/connections/{synced.connection_id}"
    ok(synced.admin.put(f"{base}/mappings/project", json={"active": True, "fields": rows}))
    erp_project = synced.sample.erp.create_actor(
        COMPANY,
        ActorType.PROJECT,
        NewRecord({"name": "Roll-out"}, parent_key=synced.erp_key, parent_type=CUSTOMER),
    )
    ordered = _document(synced.erp_key, d.DocumentKind.ORDER, 1, d.DocumentState.OPEN)
    synced.sample.erp.add_documents(COMPANY, [replace(ordered, project_id=int(erp_project))])
    project_id = ok(synced.admin.post("/projects", json={"name": "Roll-out"}), 201)["id"]
    with synced.hub.database.session() as session:
        links.create_link(
            session,
            connection_id=synced.connection_id,
            entity_type=EntityType.PROJECT,
            entity_id=project_id,
            actor_type=ActorType.PROJECT,
            erp_key=erp_project,
            agreed={"name": "Roll-out"},
        )
    view = ok(user.get(f"/projects/{project_id}/erp/{synced.connection_id}/documents"))
    assert [(row["kind"], row["state"]) for row in view["documents"]] == [("order", "open")]
    assert view["balance"]["open"] == "0.00"
    assert len(ok(user.get(documents))["documents"]) == 6  # the customer's include its project's
