"""Dashboard, groups, users, events, audit log and the layout at phone width."""

import re

from playwright.sync_api import expect

import seed
from conftest import screenshot
from test_devices import open_device

STATES = ["succeeded", "pending", "challengeIssued", "failed", "renewalDue", "revocationPending", "revoked"]


def test_dashboard_numbers_match_the_report_and_link_to_their_lists(admin_page, scepter):
    data = seed.enrolled_device(scepter)
    admin_page.reload()
    expect(admin_page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(admin_page.get_by_role("heading", name="By profile")).to_be_visible()
    # The page shows the server's snapshot (up to a minute old, so perhaps from
    # before the seed); "Refresh now" computes the report now and stores it.
    admin_page.get_by_role("button", name="Refresh now").click()
    # While it computes, the button reads "Computing…"; the new page has a fresh one.
    expect(admin_page.get_by_role("button", name="Refresh now")).to_be_enabled()
    expect(admin_page.get_by_role("link", name=data["scep"]["displayName"], exact=True)).to_be_visible()
    # What the page shows is what the server now serves (the stored snapshot).
    report = scepter.ok("GET", "/api/v1/reports/certificate-health")

    totals = admin_page.get_by_role("list", name="Totals")
    expect(totals.get_by_text("Targeted devices").locator("..").locator(".value")).to_have_text(
        str(report["totals"]["targetedDevices"])
    )
    expect(totals.get_by_text("Expiring within 30 days").locator("..").locator(".value")).to_have_text(
        str(report["totals"]["certificatesExpiringWithin30Days"])
    )
    for profile in report["profiles"]:
        row = admin_page.locator("tr", has=admin_page.get_by_role("link", name=profile["displayName"], exact=True))
        for key in ["targetedDevices", *STATES, "certificatesExpiringWithin7Days"]:
            expect(row.locator(f"[data-figure='{key}']")).to_have_text(str(profile[key]))
    # The chart is an SVG with one bar per state.
    assert admin_page.locator("figure.chart svg rect.bar").count() == len(STATES)
    screenshot(admin_page, "dashboard")

    # A profile's targeted count opens that profile's device statuses.
    row = admin_page.locator("tr", has=admin_page.get_by_role("link", name=data["scep"]["displayName"], exact=True))
    row.locator("[data-figure='targetedDevices']").click()
    expect(admin_page).to_have_url(re.compile(rf"#/profiles/scep/{data['scep']['id']}/statuses$"))
    expect(admin_page.get_by_role("heading", level=1)).to_contain_text(data["scep"]["displayName"])
    statuses = scepter.ok("GET", f"/api/v1/scep-certificate-profiles/{data['scep']['id']}/device-statuses")
    expect(admin_page.locator("main tbody tr")).to_have_count(len(statuses["items"]))
    screenshot(admin_page, "statuses")

    # Failed across the fleet: the API's state filter, every profile.
    admin_page.goto(f"{scepter.base_url}/console/#/statuses?state=failed")
    expect(admin_page.get_by_role("heading", name="Device statuses (all SCEP profiles)")).to_be_visible()
    expect(admin_page.get_by_text(f"{report['totals']['failed']} device statuses.")).to_be_visible()


def test_group_members_are_added_with_search_and_removed(admin_page, scepter):
    tag = seed.suffix()
    group = seed.group(scepter, "device", name=f"Lab devices {tag}")
    device = seed.device(scepter, name=f"Lab phone {tag}")

    admin_page.get_by_role("link", name="Groups", exact=True).click()
    admin_page.get_by_label("Search groups").fill(tag)
    admin_page.get_by_role("button", name="Search").click()
    admin_page.get_by_role("link", name=f"Lab devices {tag}").click()
    expect(admin_page.get_by_text("No members yet.")).to_be_visible()

    admin_page.get_by_label("Find devices to add").fill(f"phone {tag}")
    admin_page.get_by_role("button", name="Find").click()
    admin_page.get_by_role("button", name=f"Add Lab phone {tag}").click()
    members = admin_page.get_by_role("table", name=f"Members of Lab devices {tag}")
    expect(members.get_by_role("link", name=f"Lab phone {tag}")).to_be_visible()
    listed = scepter.ok("GET", f"/api/v1/groups/{group['id']}/members")["items"]
    assert [m["id"] for m in listed] == [device["id"]]
    screenshot(admin_page, "group")

    admin_page.get_by_role("button", name=f"Remove Lab phone {tag}").click()
    admin_page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    expect(admin_page.get_by_text("No members yet.")).to_be_visible()
    assert scepter.ok("GET", f"/api/v1/groups/{group['id']}/members")["items"] == []
    admin_page.get_by_role("link", name="Groups", exact=True).click()
    expect(admin_page.get_by_role("link", name=f"Lab devices {tag}")).to_be_visible()
    screenshot(admin_page, "groups")


def test_audit_log_shows_the_diff_of_an_edit(admin_page, scepter):
    device = seed.device(scepter, name=f"Before {seed.suffix()}")
    open_device(admin_page, scepter, device["id"])
    admin_page.get_by_role("button", name="Edit").click()
    admin_page.get_by_label("Serial number").fill("C02-AUDIT-1")
    admin_page.get_by_role("button", name="Save").click()
    expect(admin_page.get_by_text("C02-AUDIT-1")).to_be_visible()

    admin_page.get_by_role("link", name="Changes to this device (audit log)").click()
    expect(admin_page.get_by_role("heading", name="Audit log")).to_be_visible()
    entry = admin_page.locator("details.entry", has_text="replace").first
    entry.locator("summary").click()
    row = entry.locator("tr", has=admin_page.locator("code", has_text="/serialNumber"))
    expect(row.locator("td").nth(1)).to_contain_text("null")
    expect(row.locator("td").nth(2)).to_have_text("C02-AUDIT-1")
    expect(entry.locator("summary")).to_contain_text("browser-admin")
    screenshot(admin_page, "audit")


def test_users_page_lists_the_users_devices(admin_page, scepter):
    owner = seed.user(scepter)
    phone = seed.device(scepter, user_id=owner["id"])
    seed.device(scepter)

    admin_page.goto(f"{scepter.base_url}/console/#/users/{owner['id']}")
    expect(admin_page.get_by_role("heading", name=owner["displayName"], level=1)).to_be_visible()
    expect(admin_page.get_by_role("link", name=phone["deviceName"])).to_be_visible()
    expect(admin_page.locator("main tbody tr")).to_have_count(1)
    screenshot(admin_page, "user")
    admin_page.get_by_role("link", name="Users", exact=True).click()
    expect(admin_page.get_by_role("link", name=owner["displayName"])).to_be_visible()
    screenshot(admin_page, "users")


def test_events_page_filters_by_device(admin_page, scepter):
    device = seed.device(scepter)
    admin_page.get_by_role("link", name="Events", exact=True).click()
    expect(admin_page.get_by_role("heading", name="Events", level=1)).to_be_visible()
    admin_page.get_by_label("Device id").fill(device["id"])
    admin_page.get_by_role("button", name="Filter").click()
    expect(admin_page).to_have_url(re.compile(rf"deviceId={device['id']}"))
    expect(admin_page.get_by_text("No events match.")).to_be_visible()
    screenshot(admin_page, "events")


def test_every_page_is_keyboard_reachable_and_labelled(admin_page, scepter):
    for hash_path in ["#/devices", "#/groups", "#/users", "#/events", "#/audit"]:
        admin_page.goto(f"{scepter.base_url}/console/{hash_path}")
        expect(admin_page.locator("main h1")).to_be_visible()
        admin_page.wait_for_load_state("networkidle")
        unlabelled = admin_page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                .filter((el) => !el.labels || el.labels.length === 0)
                .map((el) => el.name || el.outerHTML.slice(0, 60))"""
        )
        assert unlabelled == [], f"{hash_path}: {unlabelled}"
    # From the brand link, Tab reaches the navigation, with a visible focus ring.
    admin_page.locator(".brand").focus()
    admin_page.keyboard.press("Tab")
    focused = admin_page.evaluate("document.activeElement.textContent")
    assert focused == "Dashboard"
    outline = admin_page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    admin_page.keyboard.press("Enter")
    expect(admin_page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def test_layout_holds_at_phone_width(browser_context, scepter):
    seed.enrolled_device(scepter)
    page = browser_context.new_admin_page(viewport={"width": 390, "height": 844})
    expect(page.get_by_role("heading", name="By profile")).to_be_visible()
    for hash_path in ["#/", "#/devices", "#/audit"]:
        page.goto(f"{scepter.base_url}/console/{hash_path}")
        expect(page.locator("main h1")).to_be_visible()
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{hash_path}: {overflow}px of horizontal overflow at 390px"
    page.goto(f"{scepter.base_url}/console/#/")
    expect(page.get_by_role("heading", name="By profile")).to_be_visible()
    screenshot(page, "dashboard-phone")


def test_expiry_figure_opens_the_statuses_filtered_by_certificate_expiry(admin_page, scepter):
    seed.enrolled_device(scepter)
    admin_page.reload()
    # The statuses page filters live statuses: compare with a report computed now.
    report = scepter.ok("GET", "/api/v1/reports/certificate-health?maxAgeSeconds=0")
    totals = admin_page.get_by_role("list", name="Totals")
    totals.get_by_text("Expiring within 7 days").locator("..").locator(".value").click()
    expect(admin_page).to_have_url(re.compile(r"#/statuses\?expiring=7$"))
    expect(admin_page.get_by_text("Filtered in the browser")).to_be_visible()
    expect(admin_page.get_by_text(f"{report['totals']['certificatesExpiringWithin7Days']} device statuses.")).to_be_visible()
    expect(admin_page.get_by_label("Certificate expiry")).to_have_value("7")
