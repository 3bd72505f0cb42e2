"""Stored XSS: a hostile connector (field keys, labels, descriptions, list items, values and messages made of quotes,
angle brackets, ``javascript:`` URLs, RTL and zero-width characters), served by the SDK over real HTTP, is configured
and used through every screen of the hub. Each page and dialog is parsed: nothing the templates did not write is in
it (no event handler, no ``autofocus``, no foreign element or script, no ``javascript:`` link), and the hostile text
shows as text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from erpsync.errors import ValidationError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.sdk.app import create_app as connector_app
from erpsync.sdk.connector import Connector
from erpsync.testing.server import serve_in_thread
from web.conftest import Browser, Site, crm_countries, site

__all__ = ["site"]

PAYLOAD = (
    '" autofocus onfocus="alert(1)" x=\'<script>alert(2)</script><img src=x onerror=alert(3)>'
    '<a href="javascript:alert(4)">j</a> \u202edesrever\u200b\u2066'
)
KEY = 'k" autofocus onfocus="alert(5)" y="'
NUMBER_KEY = 'n" autofocus onfocus="alert(9)" y="'
LIST = 'l"><script>alert(6)</script>'
ITEM = "i' onmouseover='alert(7)"
ERP_KEY = 'e"><svg onload=alert(8)>'
SECRET = "hostile-connector-secret-long-enough-0123456789"
TAB = "/settings/sync"
STATIC_SCRIPTS = {"/static/htmx.min.js", "/static/app.js"}
FOREIGN_ELEMENTS = {"script", "img", "svg", "iframe", "object", "embed", "base", "style", "math", "frame", "link"}
FORBIDDEN_ATTRIBUTES = {"autofocus", "style", "srcdoc"}
TEMPLATE_LINKS = {("link", "/static/app.css"), ("link", "/static/favicon.svg")}  # the stylesheet and the icon
# The elements the templates themselves focus: (tag, attribute, value), None for any value.
TEMPLATE_AUTOFOCUS = {
    ("input", "id", "erp-search-text"),
    ("input", "id", "login-username"),
    ("a", "data-close-dialog", None),
    ("button", "name", "move"),
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data-navigate", "hx-get", "hx-post", "xlink:href"}


def hostile(what: str) -> str:
    """A hostile text naming where it comes from, so each can be found as text."""
    return f"{what} {PAYLOAD}"


class HostileErp(Connector):
    """A connector whose every answer is hostile text; creating in the ERP is refused with a hostile message."""

    name = "hostile-erp"
    version = "6.6.6"
    capabilities = m.Capabilities(
        create={m.ActorType.CUSTOMER: True},
        documents=d.DocumentsCapability(kinds=[d.DocumentKind.INVOICE], lines=True, balance=True),
    )

    def actor(self) -> m.Actor:
        values: dict[str, m.Value] = {"name": hostile("name value"), KEY: hostile("key value"), "country": ITEM}
        return m.Actor(
            actor_type=m.ActorType.CUSTOMER, erp_key=ERP_KEY, last_modified="2024-01-01T00:00:00Z", fields=values
        )

    def config_fields(self) -> m.FieldsResponse:
        return m.FieldsResponse(
            fields=[
                m.FieldMeta(key="user", label=hostile("config label"), description=hostile("config help"),
                            type=m.FieldType.TEXT, access=m.Access.MANDATORY),
                m.FieldMeta(key=KEY, label=hostile("config key label"), type=m.FieldType.TEXT),
            ]
        )  # fmt: skip

    def test_config(self, request: m.TestConfigRequest) -> m.Envelope:
        return m.Envelope(state=m.State.OK_WITH_INFO, user_message=hostile("test message"))

    def actor_types(self, request: m.ConnectionRequest) -> m.ActorTypesResponse:
        return m.ActorTypesResponse(actor_types=[m.ActorType.CUSTOMER])

    def actor_fields(self, request: m.ActorTypeRequest) -> m.FieldsResponse:
        return m.FieldsResponse(
            fields=[
                m.FieldMeta(key="name", label=hostile("name label"), description=hostile("name help"),
                            type=m.FieldType.TEXT, access=m.Access.MANDATORY, rank=1),
                m.FieldMeta(key=KEY, label=hostile("key label"), description=hostile("key help"),
                            type=m.FieldType.TEXT, max_length=80, rank=2),
                m.FieldMeta(key="country", label=hostile("list label"), type=m.FieldType.LIST, list_name=LIST, rank=3),
                m.FieldMeta(key=NUMBER_KEY, label=hostile("number label"), type=m.FieldType.INTEGER, rank=4),
            ]
        )  # fmt: skip

    def searchable_fields(self, request: m.ActorTypeRequest) -> m.SearchableFieldsResponse:
        return m.SearchableFieldsResponse(field_keys=["name", KEY])

    def get_actors(self, request: m.GetActorsRequest) -> m.GetActorsResponse:
        return m.GetActorsResponse(actors=[self.actor()] if ERP_KEY in request.erp_keys else [])

    def search_actors(self, request: m.SearchActorsRequest) -> m.ActorsResponse:
        return m.ActorsResponse(actors=[self.actor()])

    def search_advanced(self, request: m.SearchAdvancedRequest) -> m.ActorsResponse:
        return m.ActorsResponse(actors=[self.actor()])

    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        return m.ChangesResponse(actors=[self.actor()], next_since="2024-01-02T00:00:00Z")

    def create_actor(self, request: m.CreateActorRequest) -> m.ActorResponse:
        raise ValidationError(hostile("create refused"))

    def save_actors(self, request: m.SaveActorsRequest) -> m.SaveActorsResponse:
        errors = [
            m.ActorError(erp_key=a.erp_key, index=i, error_code=m.ErrorCode.VALIDATION, message=hostile("save error"))
            for i, a in enumerate(request.actors)
        ]
        return m.SaveActorsResponse(actors=[], errors=errors)

    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        return m.ListItemsResponse(items=[m.ListItem(key=ITEM, label=hostile("item label"))])

    def document(self) -> d.Document:
        return d.Document(
            key=ERP_KEY, kind=d.DocumentKind.INVOICE, number=ERP_KEY, date=dt.date(2024, 1, 2),
            state=d.DocumentState.OPEN, currency="DKK", net="100.00", tax="25.00", gross="125.00",
            due_date=dt.date(2024, 2, 1), open_amount="125.00", reference=hostile("document reference"),
            url='https://erp.example/"><script>alert(11)</script>',
        )  # fmt: skip

    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        return d.DocumentsResponse(documents=[self.document()], total=1)

    def document_lines(self, request: d.DocumentLinesRequest) -> d.DocumentLinesResponse:
        line = d.DocumentLine(description=hostile("line description"), product_code=KEY, quantity="1",
                              unit=ITEM[:32], unit_price="100.00", net="100.00")  # fmt: skip
        return d.DocumentLinesResponse(document=self.document(), lines=[line])

    def balance(self, request: d.ActorDocumentsRequest) -> d.BalanceResponse:
        return d.BalanceResponse(balance=d.Balance(currency="DKK", open="125.00", overdue="125.00"))


def _focused_by_template(tag: str, attrs: dict[str, str | None]) -> bool:
    return any(
        tag == t and name in attrs and (value is None or attrs[name] == value) for t, name, value in TEMPLATE_AUTOFOCUS
    )


@dataclass
class Parsed(HTMLParser):
    """What a page holds: its elements' tags and attributes, and its text (character references decoded)."""

    problems: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and named.get("src") not in STATIC_SCRIPTS:
            self.problems.append(f"<script> not from the hub's static files: {attrs}")
        elif tag in FOREIGN_ELEMENTS - {"script"} and (tag, named.get("href")) not in TEMPLATE_LINKS:
            self.problems.append(f"<{tag}> {attrs}")
        for name, value in attrs:
            if name == "autofocus" and _focused_by_template(tag, named):
                continue
            if name.startswith("on") or name in FORBIDDEN_ATTRIBUTES or not re.fullmatch(r"[a-z][a-z-]*", name):
                self.problems.append(f"<{tag} {attrs}> carries {name}={value!r}")
            if name in URL_ATTRIBUTES and re.sub(r"[\x00-\x20]", "", value or "").lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        self.text.extend(value or "" for _, value in attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@dataclass
class Screens:
    """Every page checked so far: ``check`` parses one and keeps its text."""

    seen: dict[str, str] = field(default_factory=dict)

    def check(self, name: str, body: str) -> str:
        parsed = Parsed()
        parsed.feed(body)
        parsed.close()
        assert parsed.problems == [], f"{name}: injected markup"
        assert PAYLOAD not in body, f"{name}: the hostile text reached the page unescaped"
        self.seen[name] = "\n".join(parsed.text)
        return self.seen[name]

    def shown(self, what: str) -> list[str]:
        return [name for name, text in self.seen.items() if hostile(what) in text]


@pytest.fixture
def connector_url() -> Iterator[str]:
    with serve_in_thread(connector_app(HostileErp(), secret=SECRET)) as url:
        yield url


def _id(pattern: str, page: str) -> str:
    match = re.search(pattern, page)
    assert match, pattern
    return match.group(1)


def test_hostile_connector_metadata_values_and_messages_never_become_markup(site: Site, connector_url: str) -> None:
    site.add_user("admin", is_admin=True)
    site.add_user("carla", licences=("erp",))
    (denmark,) = crm_countries(site, hostile("crm country"))
    admin, carla, screens = site.signed_in("admin"), site.signed_in("carla"), Screens()

    def get(browser: Browser, name: str, path: str, status: int = 200, **params: str) -> str:
        answer = browser.get(path, params=params or None)
        assert answer.status_code == status, (name, answer.status_code, answer.text[:500])
        return screens.check(name, answer.text)

    def post(browser: Browser, name: str, path: str, body: dict[str, object], status: int) -> str:
        answer = browser.post(path, body)
        assert answer.status_code == status, (name, answer.status_code, answer.text[:500])
        return screens.check(name, answer.text) if status != 303 else answer.headers["location"]

    # The admin adds the connector and a connection (the names they type are hostile too).
    post(admin, "connector saved", f"{TAB}/connectors/new",
         {"name": hostile("connector name"), "url": connector_url, "secret": SECRET}, 303)  # fmt: skip
    connector_id = _id(r"/settings/sync/connectors/(\d+)/edit", get(admin, "sync tab", TAB))
    get(admin, "connection dialog", f"{TAB}/connections/new")
    get(admin, "config fields", f"{TAB}/connections/config-fields", connector_id=connector_id)
    form = {"name": hostile("connection name"), "connector_id": connector_id, "visibility": "everyone",
            "description": hostile("connection description"), "config.user": "admin", f"config.{KEY}": "v"}  # fmt: skip
    post(admin, "test result", f"{TAB}/connections/test", form, 200)
    post(admin, "connection saved", f"{TAB}/connections/new", form, 303)
    connection_id = _id(r'id="select-connection-(\d+)"', admin.get(TAB).text)
    base = f"{TAB}/connections/{connection_id}"
    get(admin, "sync tab with the connection", TAB)
    get(admin, "connection edit dialog", f"{base}/edit")

    # Configure: mappings, list mapping, defaults (with a validation error), ranks.
    get(admin, "mappings", f"{base}/mappings", actor_type="customer")
    mapping = {"erp_field": ["name", "country"], "active": "on", "crm_field.name": "NAME", "direction.name": "both",
               "show_in_search.name": "on", "show_in_tab.name": "on",
               "crm_field.country": "COUNTRY", "direction.country": "both", "show_in_tab.country": "on"}  # fmt: skip
    post(admin, "mappings saved", f"{base}/mappings?actor_type=customer", mapping, 303)
    get(admin, "list mapping", f"{base}/list-mapping")
    post(admin, "list mapping saved", f"{base}/list-mapping", {f"item.{LIST}.{ITEM}": str(denmark)}, 303)
    get(admin, "defaults", f"{base}/defaults", actor_type="customer")
    refused = post(admin, "defaults refused", f"{base}/defaults?actor_type=customer", {f"value.{NUMBER_KEY}": "x"}, 422)
    assert f"default-{NUMBER_KEY}-error" in refused, "the hostile field's input is the one marked invalid"
    post(admin, "defaults saved", f"{base}/defaults?actor_type=customer",
         {f"ask.{KEY}": "on", f"mandatory.{KEY}": "on"}, 303)  # fmt: skip
    get(admin, "ranks", f"{base}/ranks", actor_type="customer")
    post(admin, "activated", f"{base}/active", {"active": "on"}, 303)

    # A licensed user: CRM pages, the ERP tab, search, Create in ERP (asked value, refusal), connect.
    company = post(carla, "company saved", "/companies/new", {"name": hostile("company name")}, 303)
    company_id = company.rsplit("/", 1)[1]
    get(carla, "company list", "/companies")
    get(carla, "company", f"/companies/{company_id}")
    get(carla, "company edit", f"/companies/{company_id}/edit")
    tab = f"/companies/{company_id}/erp/{connection_id}"
    get(carla, "erp tab", f"/companies/{company_id}/erp")
    get(carla, "erp search", f"{tab}/search", actor_type="customer")
    get(carla, "erp create", f"{tab}/create", actor_type="customer")
    post(carla, "erp create refused by the hub", f"{tab}/create?actor_type=customer", {f"value.{KEY}": ""}, 422)
    refused = carla.post(f"{tab}/create?actor_type=customer", {f"value.{KEY}": hostile("asked")[:80]})
    screens.check("erp create refused by the connector", refused.text)
    connect = carla.post(f"{tab}/connect", {"actor_type": "customer", "erp_key": ERP_KEY})
    if connect.status_code == 200:
        screens.check("erp winners", connect.text)
        winners = {"winner.NAME": "erp", "winner.COUNTRY": "erp"}
        body = {"actor_type": "customer", "erp_key": ERP_KEY, "stage": "winners", **winners}
        post(carla, "erp connected", f"{tab}/connect", body, 303)
    get(carla, "erp tab linked", f"/companies/{company_id}/erp")
    get(carla, "erp documents", f"{tab}/documents")
    get(carla, "erp documents part", f"{tab}/documents", kind="invoice", open="1")
    get(carla, "erp document lines", f"{tab}/documents/lines", key=ERP_KEY)

    # Sync, health, runs; the import wizard to its preview.
    ran = admin.post(f"{base}/sync")
    screens.check("run result", ran.text)
    health = get(admin, "health", f"{base}/health")
    for run_id in re.findall(r"/settings/sync/runs/(\d+)", admin.get(f"{base}/health").text):
        get(admin, f"run {run_id}", f"{TAB}/runs/{run_id}")
    assert health
    get(admin, "import", f"{base}/import")
    get(admin, "import criteria", f"{base}/import/criteria", actor_type="customer")
    get(admin, "import results", f"{base}/import/results", actor_type="customer", scope="all")
    post(admin, "import preview", f"{base}/import/preview?actor_type=customer&scope=all", {"erp_key": [ERP_KEY]}, 200)

    # The hostile texts are on the screens, as text.
    shown = ("config label", "config help", "test message", "name label", "key label", "list label", "item label",
             "connector name", "connection name", "company name", "crm country", "name value",
             "document reference", "line description")  # fmt: skip
    for what in shown:
        assert screens.shown(what), f"{what!r} is shown as text on some screen"
    assert ERP_KEY in "\n".join(screens.seen.values())
