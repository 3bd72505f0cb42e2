"""Sign in and out, throttling, CSRF refusal, the language switch and the admin-only Sync tab, over real HTTP."""

from __future__ import annotations

import re

from erpsync import accounts

from .conftest import PASSWORD, Site


def test_pages_send_a_visitor_to_the_login_page(site: Site) -> None:
    browser = site.browser()
    assert browser.get("/").headers["location"] == "/login"
    answer = browser.get("/companies")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/companies"


def test_sign_in_leads_to_the_page_asked_for_and_sign_out_ends_the_session(site: Site) -> None:
    site.add_user("carla")
    browser = site.browser()
    answer = browser.post("/login", {"username": "carla", "password": PASSWORD, "next": "/projects"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/projects"
    page = browser.get("/projects")
    assert page.status_code == 200
    assert "Signed in as carla" in page.text
    assert browser.post("/logout").headers["location"] == "/login"
    assert browser.get("/projects").status_code == 303


def test_a_session_cookie_kept_after_sign_out_no_longer_works(site: Site) -> None:
    site.add_user("carla")
    browser = site.browser()
    browser.post("/login", {"username": "carla", "password": PASSWORD})
    kept = dict(browser.http.cookies)
    browser.post("/logout")
    replay = site.browser()
    replay.http.cookies.update(kept)
    assert replay.get("/projects").status_code == 303


def test_sign_in_never_redirects_off_site(site: Site) -> None:
    site.add_user("carla")
    answer = site.browser().post("/login", {"username": "carla", "password": PASSWORD, "next": "//evil.example/"})
    assert answer.headers["location"] == "/companies"


def test_a_wrong_password_is_refused_and_throttles_the_address_like_the_api(site: Site) -> None:
    # Throttling per login and address replaced the account lockout: this browser waits, even with the right password.
    site.add_user("carla")
    browser = site.browser()
    for _ in range(accounts.FREE_FAILURES):
        refused = browser.post("/login", {"username": "carla", "password": "wrong password"})
        assert refused.status_code == 401
        assert "Wrong user name or password." in refused.text
    throttled = browser.post("/login", {"username": "carla", "password": "wrong password"})
    assert throttled.status_code == 429
    assert "Too many sign-in attempts" in throttled.text
    still_throttled = browser.post("/login", {"username": "carla", "password": PASSWORD})
    assert still_throttled.status_code == 429
    assert "Too many sign-in attempts" in still_throttled.text


def test_a_post_without_the_sessions_csrf_token_is_refused(site: Site) -> None:
    site.add_user("carla")
    browser = site.signed_in("carla")
    missing = browser.http.post("/companies/new", data={"name": "Acme"})
    assert missing.status_code == 403
    assert "did not come from this site" in missing.text
    forged = browser.http.post("/companies/new", data={"name": "Acme", "csrf_token": "forged"})
    assert forged.status_code == 403
    other_session = site.browser().csrf_token()
    stolen = browser.http.post("/companies/new", data={"name": "Acme", "csrf_token": other_session})
    assert stolen.status_code == 403
    assert "Acme" not in browser.get("/companies").text


def test_htmx_requests_carry_the_token_in_a_header(site: Site) -> None:
    site.add_user("carla")
    browser = site.signed_in("carla")
    headers = {"HX-Request": "true", "X-CSRF-Token": browser.csrf_token()}
    created = browser.http.post("/companies/new", data={"name": "Acme"}, headers=headers)
    assert created.status_code == 200
    assert created.headers["HX-Redirect"].startswith("/companies/")
    refused = browser.http.post("/companies/new", data={"name": "Acme"}, headers={"HX-Request": "true"})
    assert refused.status_code == 403


def test_the_login_form_itself_needs_the_token(site: Site) -> None:
    site.add_user("carla")
    answer = site.browser().http.post("/login", data={"username": "carla", "password": PASSWORD})
    assert answer.status_code == 403


def test_signing_in_renews_the_csrf_token(site: Site) -> None:
    site.add_user("carla")
    browser = site.browser()
    before = browser.csrf_token()
    browser.post("/login", {"username": "carla", "password": PASSWORD})
    assert browser.csrf_token() != before


def test_the_language_switch_turns_every_page_danish_and_survives_sign_out(site: Site) -> None:
    site.add_user("admin", is_admin=True)
    browser = site.signed_in("admin")
    switched = browser.post("/language", {"language": "da", "next": "/settings/sync"})
    assert switched.headers["location"] == "/settings/sync"
    page = browser.get("/settings/sync").text
    assert '<html lang="da">' in page
    for text in ("Indstillinger og vedligeholdelse", "Sync Connectors", "ERP-forbindelser", "Tilføj"):
        assert text in page
    browser.post("/logout")
    assert "Log ind" in browser.get("/login").text


def test_the_browsers_language_is_the_default(site: Site) -> None:
    page = site.browser().get("/login", headers={"Accept-Language": "da-DK,da;q=0.9,en;q=0.8"})
    assert "Brugernavn" in page.text


def test_the_sync_tab_is_for_administrators_only(site: Site) -> None:
    site.add_user("admin", is_admin=True)
    site.add_user("carla", licences=("erp",))
    user = site.signed_in("carla")
    refused = user.get("/settings/sync")
    assert refused.status_code == 403
    assert "administrator role" in refused.text
    assert user.get("/settings/sync/connectors/new").status_code == 403
    assert user.post("/settings/sync/connectors/new", {"name": "x"}).status_code == 403
    assert "/settings/sync" not in user.get("/companies").text
    admin = site.signed_in("admin")
    assert admin.get("/settings/sync").status_code == 200
    assert 'href="/settings/sync"' in admin.get("/companies").text


def test_a_deactivated_users_session_ends(site: Site) -> None:
    site.add_user("carla")
    browser = site.signed_in("carla")
    with site.database.session() as session:
        user = accounts.find_user(session, "carla")
        assert user is not None
        accounts.update_user(session, user, active=False)
    assert browser.get("/companies").status_code == 303


def test_every_page_names_an_icon_that_is_served(site: Site) -> None:
    page = site.browser().get("/login").text
    match = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert match
    icon = site.browser().get(match.group(1))
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
