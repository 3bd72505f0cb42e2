"""The designed look in a real browser: the design tokens are in force, the icons are shipped with the hub and
drawn (on the Sync tab's toolbar, the configure screens' navigation, the run and job pages, the ERP tab's actions and
the users and groups pages), every icon a page asks for loads, and whatever the user waits on shows that it is
loading."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, Response, expect

from erpsync import accounts
from erpsync.connectors.sample.erp import NewRecord
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.crypto import cipher_for
from erpsync.protocol import models as m
from erpsync.sync.connections import hub_clients
from erpsync.sync.imports import start_import
from erpsync.sync.work import Engine
from erpsync.testing.documents import link_company
from erpsync.testing.sample import COMPANY
from erpsync.web import STATIC_DIR

from .conftest import Hub, screenshot

CSS = (STATIC_DIR / "app.css").read_text(encoding="utf-8")
TOKENS = ("--color-accent", "--color-danger", "--color-ok", "--space-4", "--font-size-base", "--radius")


def test_every_colour_outside_the_tokens_is_a_token() -> None:
    outside = CSS[CSS.index("\n}\n", CSS.index(":root {")) :]
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b|rgb\(", outside) == [], "a colour written out instead of a token"


def test_every_icon_the_styles_name_is_shipped_with_its_licence() -> None:
    named = set(re.findall(r"url\(icons/([a-z0-9-]+\.svg)\)", CSS))
    assert named, "the styles use the icon set"
    icons = STATIC_DIR / "icons"
    assert sorted(name for name in named if not (icons / name).is_file()) == []
    assert "ISC License" in (icons / "LICENSE.txt").read_text(encoding="utf-8")
    assert all(Path(icons / name).read_text(encoding="utf-8").lstrip().startswith("<svg") for name in named)


def test_tokens_apply_and_icons_load_and_draw(page: Page, hub: Hub) -> None:
    failed: list[str] = []

    def note(response: Response) -> None:
        if "/static/" in response.url and response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", note)
    hub.sign_in(page, "admin")
    page.goto(f"{hub.url}/settings/users")
    tokens = page.evaluate(
        "names => names.map(n => getComputedStyle(document.documentElement).getPropertyValue(n).trim())", TOKENS
    )
    assert all(tokens), dict(zip(TOKENS, tokens, strict=True))
    nav_icon = page.locator(".main-nav .i").first
    drawn = nav_icon.evaluate("e => [getComputedStyle(e, '::before').maskImage, e.getBoundingClientRect().width]")
    assert "building-2.svg" in drawn[0]
    assert drawn[1] > 0
    primary = page.locator(".button.primary").first
    assert primary.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(31, 95, 191)"  # --color-accent
    screenshot(page, "en-look-users")
    assert failed == [], "every static file a page asks for loads"


def test_what_the_user_waits_on_shows_a_spinner_and_the_top_bar(page: Page, hub: Hub) -> None:
    hub.sign_in(page, "admin")
    page.goto(f"{hub.url}/settings/users")
    button = page.locator(".button.primary").first
    idle = button.evaluate("e => getComputedStyle(e, '::after').content")
    assert idle in ("none", "normal")
    button.evaluate("e => e.classList.add('htmx-request')")  # what htmx does while the request runs
    spinning = button.evaluate(
        "e => [getComputedStyle(e, '::after').animationName, getComputedStyle(e, '::after').maskImage,"
        " getComputedStyle(document.body, '::before').animationName]"
    )
    assert spinning[0] == "spin"
    assert "loader-circle.svg" in spinning[1]
    assert spinning[2] == "progress"
    button.evaluate("e => e.classList.remove('htmx-request')")
    expect(page.locator("body")).not_to_have_attribute("aria-busy", "true")


def test_a_dialog_loaded_by_htmx_marks_its_host_busy_until_it_arrives(page: Page, hub: Hub) -> None:
    hub.sign_in(page, "admin")
    page.goto(f"{hub.url}/settings/users")
    busy: list[str | None] = []
    page.expose_function("noteBusy", lambda value: busy.append(value))
    page.evaluate(
        "() => document.addEventListener('htmx:beforeSend', () =>"
        " window.noteBusy(document.getElementById('dialog-host').getAttribute('aria-busy')))"
    )
    page.locator(".button.primary").first.click()
    expect(page.locator("dialog[open]")).to_be_visible()
    assert busy == ["true"], "busy while the request runs"
    expect(page.locator("#dialog-host")).not_to_have_attribute("aria-busy", "true")


def _icons(page: Page, where: str = "main") -> set[str]:
    """The icons drawn in ``where``: each ``.i-NAME`` whose mask is a shipped SVG and which takes room."""
    drawn = page.locator(f"{where} .i").evaluate_all(
        """els => els.filter(e => getComputedStyle(e, '::before').maskImage.includes('.svg')
                              && e.getBoundingClientRect().width > 0)
                  .flatMap(e => [...e.classList].filter(c => c.startsWith('i-')).map(c => c.slice(2)))"""
    )
    return set(drawn)


def _icon_world(hub: Hub) -> tuple[int, int, int, int]:
    """Acme linked to an ERP customer, Beta not linked, a group, and a queued import: (connection, Acme, Beta, job)."""
    erp_key = hub.sample.erp.create_actor(COMPANY, m.ActorType.CUSTOMER, NewRecord({"name": "Acme A/S"}))
    cipher = cipher_for(hub.settings)
    sample = hub.sample
    linked = link_company(
        hub.database, cipher, url=sample.url, secret=sample.secret, config=sample.config, erp_key=erp_key
    )
    with hub.database.session() as session:
        beta = service.create_entity(session, EntityType.COMPANY, {"name": "Beta ApS"}, changed_by="test").id
        accounts.create_group(session, name="Sales")
    clients = hub_clients(hub.database, cipher)
    try:
        job = start_import(Engine(hub.database, clients), linked.connection_id, m.ActorType.CUSTOMER, erp_keys=[])
    finally:
        clients.close()
    return linked.connection_id, linked.company_id, beta, job.id


def test_the_remaining_screens_show_their_icons(page: Page, hub: Hub) -> None:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if "/static/" in r.url and r.status >= 400 else None)
    connection_id, acme, beta, job_id = _icon_world(hub)
    hub.sign_in(page, "carla")  # a CRM user with the ERP licence
    page.goto(f"{hub.url}/companies/{acme}/erp")
    expect(page.locator("main .i-unlink")).to_be_visible()
    assert {"sync", "unlink"} <= _icons(page)
    screenshot(page, "en-look-erp-tab")
    page.goto(f"{hub.url}/companies/{beta}/erp")
    page.locator("main a:has(.i-link)").first.click()
    expect(page.locator("dialog[open] .i-search").first).to_be_visible()
    assert {"search", "add"} <= _icons(page, "dialog[open]")
    page.locator("dialog[open] a:has(.i-add)").click()
    expect(page.locator("dialog[open] button.primary .i-add")).to_be_visible()  # Create in ERP

    page.context.clear_cookies()  # signed out
    hub.sign_in(page, "admin")

    page.goto(f"{hub.url}/settings/sync")
    toolbar = {"add", "edit", "mappings", "list-mapping", "defaults", "ranks", "policy", "priority", "alerts"}
    toolbar |= {"sync", "health", "resync", "import", "delete"}
    assert toolbar <= _icons(page, "[role=toolbar]")
    page.locator("tr", has_text="Main").first.click()
    page.get_by_role("toolbar").locator("button:has(.i-sync)").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator(".i-run")).to_be_visible()
    assert "run" in _icons(page, "dialog[open]")
    dialog.locator("a:has(.i-run)").click()
    expect(page.locator("main .i-undo")).to_be_visible()  # the run page
    screenshot(page, "en-look-run")

    page.goto(f"{hub.url}/settings/sync/connections/{connection_id}/mappings")
    assert {"mappings", "list-mapping", "defaults", "ranks", "policy", "auto-create"} <= _icons(page, "nav.screens")

    page.goto(f"{hub.url}/settings/sync/connections/{connection_id}/jobs/{job_id}")
    expect(page.locator("main .i").first).to_be_visible()
    assert {"cancel"} <= _icons(page) or {"import"} <= _icons(page), _icons(page)  # queued, or ended meanwhile

    for where, icons in (("users", {"add", "edit", "password"}), ("groups", {"add", "edit", "delete"})):
        page.goto(f"{hub.url}/settings/{where}")
        assert icons <= _icons(page), where
    assert failed == [], "every icon a page asks for loads"
