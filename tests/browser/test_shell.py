"""The console's shell: sign in, navigation, sign out, expiry and the headers it is served with."""

import urllib.request

from playwright.sync_api import expect

from conftest import screenshot

NAV = ["Dashboard", "Profiles", "Devices", "Users", "Groups", "Events", "Audit log"]


def test_sign_in_with_the_token_field_shows_navigation_and_who(admin_page):
    nav = admin_page.get_by_role("navigation", name="Main")
    for name in NAV:
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(admin_page.get_by_text("browser-admin")).to_be_visible()
    expect(admin_page.locator(".who .role")).to_have_text("admin")
    # The token is in sessionStorage, never in the URL or a cookie.
    assert "ey" not in admin_page.url
    assert admin_page.context.cookies() == []
    stored = admin_page.evaluate("sessionStorage.getItem('scepter.token')")
    assert stored and stored.count(".") == 2


def test_a_rejected_token_stays_on_sign_in_with_a_message(browsing, scepter):
    page = browsing.new_page()
    page.goto(f"{scepter.base_url}/console/")
    screenshot(page, "sign-in")
    page.get_by_label("Token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("token")
    assert page.evaluate("sessionStorage.getItem('scepter.token')") is None


def test_sign_out_and_an_invalid_token_send_you_back_to_sign_in(admin_page):
    admin_page.get_by_role("button", name="Sign out").click()
    expect(admin_page.get_by_label("Token")).to_be_visible()
    assert admin_page.evaluate("sessionStorage.getItem('scepter.token')") is None
    # A token the server refuses (here: a well-formed but wrongly signed one) → 401 → sign in again.
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJl"
    admin_page.evaluate(f"sessionStorage.setItem('scepter.token', '{forged}')")
    admin_page.goto(admin_page.url.split("#")[0] + "#/devices")
    expect(admin_page.get_by_label("Token")).to_be_visible()
    expect(admin_page.get_by_text("did not accept your token")).to_be_visible()


def test_an_expired_token_sends_you_back_to_sign_in(admin_page):
    expired = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIiwiZXhwIjoxMDAwfQ.c2lnbmF0dXJl"
    admin_page.evaluate(f"sessionStorage.setItem('scepter.token', '{expired}')")
    admin_page.get_by_role("link", name="Devices", exact=True).click()
    expect(admin_page.get_by_label("Token")).to_be_visible()
    expect(admin_page.get_by_text("expired")).to_be_visible()


def test_console_is_served_with_a_strict_content_security_policy(scepter):
    with urllib.request.urlopen(f"{scepter.base_url}/console/", timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
