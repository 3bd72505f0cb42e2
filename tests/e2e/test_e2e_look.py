"""The designed look in a real browser: the design tokens are in force, the icons are shipped with the hub and
drawn, every icon a page asks for loads, and whatever the user waits on shows that it is loading."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, Response, expect

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
