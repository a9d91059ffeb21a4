"""Browser tests of the console's Profiles pages (api/console/js/pages/profiles.js, profile-*.js).

Seeding and every expected value go through the REST API (`scepter.api`); the pages are driven
like an admin would: labels, buttons, files, downloads. Fixtures come from conftest.py.
"""

import base64
import json
import re
import subprocess
import uuid

import pytest
from playwright.sync_api import expect

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
HOSTILE = "<img src=x onerror=alert(1)>"


# ------------------------------------------------------------------ helpers


def _body_json(body):
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if isinstance(body, str):
        return json.loads(body) if body else None
    return body


def _body_bytes(body):
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def api(scepter, method, path, json_body=None, headers=None, expect_status=None, token=None):
    status, response_headers, body = scepter.api(method, path, json=json_body, headers=headers, token=token)
    if expect_status is not None:
        assert status == expect_status, f"{method} {path}: {status} {body!r}"
    return status, response_headers, body


def api_json(scepter, method, path, json_body=None, expect_status=200, headers=None):
    _, _, body = api(scepter, method, path, json_body, headers=headers, expect_status=expect_status)
    return _body_json(body)


def unique(prefix):
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def make_ca(tmp_path, name="Console Test Root CA"):
    """A real self-signed CA with openssl: returns (pem_path, der_path, der_bytes)."""
    key = tmp_path / "ca.key"
    pem = tmp_path / "ca.pem"
    der = tmp_path / "ca.der"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(pem),
         "-days", "3650", "-subj", f"/CN={name}/O=Scepter Tests",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-in", str(pem), "-outform", "DER", "-out", str(der)],
                   check=True, capture_output=True)
    return pem, der, der.read_bytes()


def seed_root(scepter, tmp_path, platform="ios", name=None):
    pem, _, _ = make_ca(tmp_path)
    return api_json(scepter, "POST", "/api/v1/trusted-certificate-profiles", {
        "displayName": name or unique("Root"), "platform": platform, "certFileName": "root.cer",
        "trustedRootCertificate": pem.read_text(),
    }, expect_status=201)


def scep_draft(root_id, name, platform="ios", subject="CN={{DeviceName}},OU=Console"):
    return {
        "displayName": name, "platform": platform, "certificateType": "device",
        "subjectNameFormat": "custom", "subjectNameFormatString": subject,
        "keyUsage": ["digitalSignature", "keyEncipherment"], "keySize": 2048,
        "rootCertificateId": root_id, "scepServerUrls": ["https://scep.example.com/scep"],
    }


def seed_scep(scepter, root_id, name=None, platform="ios"):
    return api_json(scepter, "POST", "/api/v1/scep-certificate-profiles",
                    scep_draft(root_id, name or unique("SCEP"), platform), expect_status=201)


def seed_fleet(scepter, root, scep, assign=True):
    """A device group holding one device of the profiles' platform; both profiles assigned to it."""
    group = api_json(scepter, "POST", "/api/v1/groups",
                     {"displayName": unique("Console devices"), "groupType": "device"}, expect_status=201)
    device = api_json(scepter, "POST", "/api/v1/devices",
                      {"deviceName": unique("Console iPhone"), "platform": scep["platform"],
                       "serialNumber": "C02TEST"}, expect_status=201)
    api(scepter, "POST", f"/api/v1/groups/{group['id']}/members", {"memberIds": [device["id"]]})
    api(scepter, "POST", f"/api/v1/trusted-certificate-profiles/{root['id']}/assignments",
        {"groupId": group["id"], "intent": "include"}, expect_status=201)
    if assign:
        api(scepter, "POST", f"/api/v1/scep-certificate-profiles/{scep['id']}/assignments",
            {"groupId": group["id"], "intent": "include"}, expect_status=201)
    return group, device


def goto(page, scepter, route):
    page.goto(f"{scepter.base_url}/console/#{route}")


def unlabelled_inputs(page):
    return page.evaluate("""() => [...document.querySelectorAll('main input, main select, main textarea')]
        .filter((el) => el.type !== 'hidden' && !(el.labels && el.labels.length))
        .map((el) => el.outerHTML)""")


# ------------------------------------------------------------------ tests


def test_list_filters_by_kind_and_platform(admin_page, scepter, tmp_path, screenshot):
    page = admin_page
    root = seed_root(scepter, tmp_path, platform="macos")
    scep = seed_scep(scepter, root["id"], platform="macos")
    goto(page, scepter, "/profiles")
    expect(page.get_by_role("heading", name="Profiles", exact=True)).to_be_visible()
    trusted_table = page.locator(".profile-table[data-kind=trusted]")
    scep_table = page.locator(".profile-table[data-kind=scep]")
    expect(trusted_table.get_by_role("link", name=root["displayName"])).to_be_visible()
    expect(scep_table.get_by_role("link", name=scep["displayName"])).to_be_visible()
    expect(scep_table.get_by_role("link", name=root["displayName"])).to_be_visible()  # its root
    expect(page.get_by_role("link", name="New SCEP profile")).to_be_visible()
    expect(page.get_by_role("link", name="New trusted profile")).to_be_visible()
    screenshot(page, "profiles-list")

    page.get_by_label("Kind", exact=True).select_option("scep")
    page.wait_for_url(re.compile(r".*#/profiles\?kind=scep$"))
    expect(page.get_by_role("link", name=scep["displayName"])).to_be_visible()
    expect(trusted_table).to_have_count(0)

    page.get_by_label("Platform", exact=True).select_option("android")
    page.wait_for_url(re.compile(r".*kind=scep&platform=android$"))
    expect(page.get_by_role("link", name=scep["displayName"])).to_have_count(0)
    page.get_by_label("Platform", exact=True).select_option("macos")
    expect(page.get_by_role("link", name=scep["displayName"])).to_be_visible()

    # Phone width: the page does not scroll sideways (wide tables scroll inside their box).
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name=scep["displayName"]).click()
    page.wait_for_url(re.compile(rf".*#/profiles/scep/{scep['id']}$"))
    expect(page.get_by_role("heading", name=scep["displayName"], level=1)).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    screenshot(page, "profiles-scep-phone")


def test_upload_root_certificate_from_der_file(admin_page, scepter, tmp_path, screenshot):
    page = admin_page
    pem_path, der_path, der = make_ca(tmp_path, "Console Upload Root")
    name = unique("Uploaded root")
    goto(page, scepter, "/profiles/trusted/new")
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Platform", exact=True).select_option("windows10")
    expect(page.get_by_label("Destination store")).to_be_visible()
    page.get_by_label("Platform", exact=True).select_option("ios")
    expect(page.get_by_label("Destination store")).to_be_hidden()
    # Not a certificate: the server's reason is shown beside the file field.
    junk = tmp_path / "notes.txt"
    junk.write_text("not a certificate")
    page.get_by_label("Root certificate file").set_input_files(str(junk))
    expect(page.locator(".file-details")).to_contain_text("Neither PEM nor DER")
    page.get_by_role("button", name="Create profile").click()
    file_field = page.locator(".field", has=page.locator("input[name='trustedRootCertificate']"))
    expect(file_field.locator(".field-error")).to_be_visible()
    expect(page.get_by_label("Display name")).to_have_value(name)

    page.get_by_label("Root certificate file").set_input_files(str(der_path))
    details = page.locator(".file-details[data-format=DER]")
    expect(details).to_contain_text("DER")
    expect(details).to_contain_text(der_path.name)
    expect(details).to_contain_text(f"{len(der)} bytes")
    assert unlabelled_inputs(page) == []
    page.get_by_role("button", name="Create profile").click()
    page.wait_for_url(re.compile(rf".*#/profiles/trusted/{UUID}$"))
    profile_id = page.url.rsplit("/", 1)[1]

    view = api_json(scepter, "GET", f"/api/v1/trusted-certificate-profiles/{profile_id}")
    pem_der = base64.b64decode("".join(
        line for line in pem_path.read_text().splitlines() if line and not line.startswith("-----")))
    assert pem_der == der
    assert view["trustedRootCertificate"] == base64.b64encode(pem_der).decode()
    assert view["displayName"] == name
    # The page shows the API's parsed details.
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.locator(".certificate-details")).to_contain_text("CN=Console Upload Root")
    expect(page.locator(".certificate-details")).to_contain_text(view["certificateDetails"]["thumbprintSha256"])


def test_scep_profile_with_broken_template_then_fixed(admin_page, scepter, tmp_path, screenshot):
    page = admin_page
    root = seed_root(scepter, tmp_path, platform="ios")
    name = unique("Console SCEP")
    goto(page, scepter, "/profiles/scep/new")
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Platform", exact=True).select_option("ios")
    # Fields per platform: no key storage provider or hash algorithm on iOS; both on Windows.
    expect(page.get_by_label("Key storage provider (KSP)")).to_be_hidden()
    expect(page.get_by_label("Hash algorithm")).to_be_hidden()
    page.get_by_label("Platform", exact=True).select_option("windows10")
    expect(page.get_by_label("Key storage provider (KSP)")).to_be_visible()
    expect(page.get_by_label("Hash algorithm")).to_be_visible()
    page.get_by_label("Platform", exact=True).select_option("ios")

    page.get_by_label("Certificate type").select_option("device")
    page.get_by_label("Subject name format", exact=True).select_option("commonName")
    expect(page.get_by_text("Subject: CN={{AAD_Device_ID}}")).to_be_visible()
    expect(page.locator("select[name=subjectNameFormat] option[value=commonNameAsEmail]")).to_be_disabled()
    page.get_by_label("Subject name format", exact=True).select_option("custom")
    subject = page.get_by_label("Subject name format string")
    subject.fill("CN={{NoSuchVariable}}")
    page.get_by_role("button", name="Add subject alternative name").click()
    page.get_by_label("SAN type 1", exact=True).select_option("domainNameService")
    page.get_by_label("SAN value 1", exact=True).fill("{{DeviceName}}.example.com")
    page.get_by_label("SCEP server URL 1", exact=True).fill("https://scep.example.com/scep")
    page.get_by_label("Root certificate").select_option(root["id"])
    assert unlabelled_inputs(page) == []
    screenshot(page, "profiles-scep-form")
    page.get_by_role("button", name="Create profile").click()

    subject_field = page.locator(".field", has=page.locator("input[name='subjectNameFormatString']"))
    expect(subject_field.locator(".field-error")).to_contain_text("NoSuchVariable")
    expect(subject).to_have_value("CN={{NoSuchVariable}}")  # the form keeps what was typed
    assert page.url.endswith("#/profiles/scep/new")

    subject.fill("CN={{DeviceName}},OU=Console")
    page.get_by_role("button", name="Create profile").click()
    page.wait_for_url(re.compile(rf".*#/profiles/scep/{UUID}$"))
    profile_id = page.url.rsplit("/", 1)[1]
    view = api_json(scepter, "GET", f"/api/v1/scep-certificate-profiles/{profile_id}")
    assert view["displayName"] == name
    assert view["subjectNameFormatString"] == "CN={{DeviceName}},OU=Console"
    assert view["customSubjectAlternativeNames"] == [{"sanType": "domainNameService", "name": "{{DeviceName}}.example.com"}]
    assert view["keyStorageProvider"] is None and view["hashAlgorithm"] is None
    expect(page.get_by_role("link", name="Device statuses")).to_have_attribute(
        "href", f"#/profiles/scep/{profile_id}/statuses")


def test_assign_then_remove_with_dry_run(admin_page, scepter, tmp_path, screenshot):
    page = admin_page
    root = seed_root(scepter, tmp_path)
    scep = seed_scep(scepter, root["id"])
    group, _ = seed_fleet(scepter, root, scep, assign=False)
    goto(page, scepter, f"/profiles/scep/{scep['id']}")
    expect(page.get_by_text("Not assigned to any group.")).to_be_visible()
    assert "null" not in page.locator("main").inner_text()
    assert unlabelled_inputs(page) == []

    # Assign: group picker with search, include, dry run, apply.
    page.get_by_label("Search groups").fill(group["displayName"])
    page.get_by_label("Group", exact=True).select_option(group["id"])
    page.get_by_label("Include").check()
    page.get_by_role("button", name="Assign").click()
    dialog = page.locator("dialog.dry-run[open]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-count-value=install]")).to_have_text("1")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_have_count(0)
    assignments = api_json(scepter, "GET", f"/api/v1/scep-certificate-profiles/{scep['id']}/assignments")["items"]
    assert [(a["groupId"], a["intent"]) for a in assignments] == [(group["id"], "include")]
    assignment_id = assignments[0]["id"]

    # Remove: the dialog's counts are the API's dry run of the same call.
    row = page.locator(".profile-assignments tr", has_text=group["displayName"])
    row.get_by_role("button", name="Remove").click()
    expect(dialog).to_be_visible()
    expected = api_json(scepter, "DELETE",
                        f"/api/v1/scep-certificate-profiles/{scep['id']}/assignments/{assignment_id}?dryRun=true")
    assert expected["dryRun"] is True
    for key in ("install", "reissue", "remove", "revoke", "unchanged"):
        expect(dialog.locator(f"[data-count-value={key}]")).to_have_text(str(expected["impact"][key]))
    for item in expected["devices"]["items"]:
        expect(dialog).to_contain_text(item["deviceName"])
    screenshot(page, "profiles-dry-run")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("Not assigned to any group.")).to_be_visible()
    assignments = api_json(scepter, "GET", f"/api/v1/scep-certificate-profiles/{scep['id']}/assignments")["items"]
    assert assignments == []


def test_cancelled_dry_run_changes_nothing(admin_page, scepter, tmp_path):
    page = admin_page
    root = seed_root(scepter, tmp_path)
    scep = seed_scep(scepter, root["id"])
    goto(page, scepter, f"/profiles/scep/{scep['id']}")
    page.get_by_role("button", name="Delete profile").click()
    dialog = page.locator("dialog.dry-run[open]")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Delete")).to_be_focused()
    page.keyboard.press("Escape")  # keyboard: Escape is Cancel
    expect(dialog).to_have_count(0)
    api(scepter, "GET", f"/api/v1/scep-certificate-profiles/{scep['id']}", expect_status=200)
    # And the trusted kind, whose writes may not rehearse yet: the dialog still opens.
    goto(page, scepter, f"/profiles/trusted/{root['id']}")
    page.get_by_label("Description").fill("Edited in the console")
    page.get_by_role("button", name="Save").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator(".impact")).to_be_visible()
    status, _, body = api(scepter, "PUT", f"/api/v1/trusted-certificate-profiles/{root['id']}?dryRun=true",
                          {"displayName": root["displayName"], "platform": root["platform"],
                           "trustedRootCertificate": root["trustedRootCertificate"]},
                          headers={"If-Match": f'"{root["version"]}"'})
    if status == 422 and any(e["field"] == "dryRun" for e in _body_json(body)["errors"]):
        expect(dialog).to_contain_text("Impact preview not available")
    else:
        assert status == 200, body
        expect(dialog.locator("[data-count-value=unchanged]")).to_have_text(str(_body_json(body)["impact"]["unchanged"]))
    dialog.get_by_role("button", name="Apply").click()
    expect(page.get_by_text(re.compile(r"Saved: version 2"))).to_be_visible()
    assert api_json(scepter, "GET", f"/api/v1/trusted-certificate-profiles/{root['id']}")["description"] == \
        "Edited in the console"


def test_preview_download_equals_api_bytes(admin_page, scepter, tmp_path, screenshot):
    page = admin_page
    root = seed_root(scepter, tmp_path)
    scep = seed_scep(scepter, root["id"])
    _, device = seed_fleet(scepter, root, scep)
    goto(page, scepter, f"/profiles/scep/{scep['id']}")
    page.get_by_label("Search devices").fill(device["deviceName"])
    page.get_by_label("Device", exact=True).select_option(device["id"])
    page.get_by_role("button", name="Preview", exact=True).click()
    download_button = page.get_by_role("button", name=re.compile(r"^Download .*\.mobileconfig$"))
    expect(download_button).to_be_visible()
    expect(page.locator(".preview-result")).to_contain_text("application/x-apple-aspen-config")
    screenshot(page, "profiles-preview")
    with page.expect_download() as info:
        download_button.click()
    download = info.value
    assert download.suggested_filename.endswith(".mobileconfig")
    downloaded = open(download.path(), "rb").read()
    _, _, raw = api(scepter, "POST", f"/api/v1/scep-certificate-profiles/{scep['id']}/preview",
                    {"deviceId": device["id"]}, headers={"Accept": "application/x-apple-aspen-config"},
                    expect_status=200)
    assert downloaded == _body_bytes(raw)
    assert b"PayloadContent" in downloaded

    # A device that cannot fill the template: every missing value is named.
    broken = api_json(scepter, "POST", "/api/v1/scep-certificate-profiles",
                      scep_draft(root["id"], unique("Needs IMEI"), subject="CN={{IMEINumber}}"), expect_status=201)
    goto(page, scepter, f"/profiles/scep/{broken['id']}")
    page.get_by_label("Search devices").fill(device["deviceName"])
    page.get_by_label("Device", exact=True).select_option(device["id"])
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator(".preview-missing")).to_contain_text("{{IMEINumber}}")


def test_conflict_from_two_tabs_then_overwrite(admin_page, new_admin_page, scepter, tmp_path, screenshot):
    root = seed_root(scepter, tmp_path)
    scep = seed_scep(scepter, root["id"])
    first = admin_page
    second = new_admin_page()
    for page in (first, second):
        goto(page, scepter, f"/profiles/scep/{scep['id']}")
        expect(page.get_by_label("Display name")).to_have_value(scep["displayName"])

    first.get_by_label("Display name").fill(scep["displayName"] + " (theirs)")
    first.get_by_role("button", name="Save").click()
    first.locator("dialog.dry-run[open]").get_by_role("button", name="Apply and save").click()
    expect(first.get_by_text("Saved: version 2.")).to_be_visible()

    second.get_by_label("Description").fill("mine")
    second.get_by_role("button", name="Save").click()
    conflict = second.locator(".conflict")
    expect(conflict.get_by_role("heading", name="This profile was changed by someone else")).to_be_visible()
    expect(conflict).to_contain_text(scep["displayName"] + " (theirs)")  # the server's current version
    expect(conflict).to_contain_text("mine")  # next to the unsaved values
    expect(second.get_by_label("Description")).to_have_value("mine")
    screenshot(second, "profiles-conflict")
    conflict.get_by_role("button", name="Overwrite with mine").click()
    second.locator("dialog.dry-run[open]").get_by_role("button", name="Apply and save").click()
    expect(second.get_by_text("Saved: version 3.")).to_be_visible()
    view = api_json(scepter, "GET", f"/api/v1/scep-certificate-profiles/{scep['id']}")
    assert view["version"] == 3
    assert view["description"] == "mine"
    assert view["displayName"] == scep["displayName"]

    # The audit history shows both saves with their field-level changes.
    second.get_by_role("button", name="History", exact=True).click()
    history = second.locator(".profile-history")
    expect(history.get_by_role("cell", name="/description", exact=True).first).to_be_visible()
    expect(history.get_by_role("cell", name="/displayName", exact=True).first).to_be_visible()
    expect(history).to_contain_text(scep["displayName"] + " (theirs)")


def test_reader_sees_no_write_controls(reader_page, scepter, tmp_path):
    page = reader_page
    root = seed_root(scepter, tmp_path)
    scep = seed_scep(scepter, root["id"])
    seed_fleet(scepter, root, scep)
    goto(page, scepter, "/profiles")
    expect(page.get_by_role("link", name=scep["displayName"])).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^New "))).to_have_count(0)
    for route in (f"/profiles/scep/{scep['id']}", f"/profiles/trusted/{root['id']}"):
        goto(page, scepter, route)
        main = page.locator("main")
        expect(main.locator(".profile-dl").first).to_be_visible()
        expect(main.locator(".profile-assignments table")).to_be_visible()
        assert "null" not in main.inner_text()
        for name in ("Save", "Delete profile", "Assign", "Remove", "Create profile"):
            expect(main.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(main.locator("input[name=displayName], input[type=file], form.profile-form")).to_have_count(0)
    goto(page, scepter, "/profiles/scep/new")
    expect(page.locator("main form")).to_have_count(0)


def test_hostile_profile_name_renders_as_text(admin_page, scepter, tmp_path):
    page = admin_page
    alerts = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    root = seed_root(scepter, tmp_path, name=HOSTILE)
    goto(page, scepter, "/profiles?kind=trusted")
    expect(page.get_by_role("link", name=HOSTILE).first).to_be_visible()
    goto(page, scepter, f"/profiles/trusted/{root['id']}")
    expect(page.get_by_role("heading", name=HOSTILE, level=1)).to_be_visible()
    assert page.locator("main img").count() == 0
    assert alerts == []


def test_trusted_conflict_reload_theirs(admin_page, new_admin_page, scepter, tmp_path):
    root = seed_root(scepter, tmp_path, platform="windows10")
    first = admin_page
    second = new_admin_page()
    for page in (first, second):
        goto(page, scepter, f"/profiles/trusted/{root['id']}")
        expect(page.get_by_label("Display name")).to_have_value(root["displayName"])
        expect(page.get_by_label("Destination store")).to_be_visible()

    first.get_by_label("Destination store").select_option("computerCertStoreIntermediate")
    first.get_by_role("button", name="Save").click()
    first.locator("dialog.dry-run[open]").get_by_role("button", name="Apply and save").click()
    expect(first.get_by_text("Saved: version 2.")).to_be_visible()

    second.get_by_label("Certificate file name").fill("mine.cer")
    second.get_by_role("button", name="Save").click()
    conflict = second.locator(".conflict")
    # Where the server cannot rehearse a trusted profile's change yet, the dry run's dialog says
    # so and the real call meets the 412; once it can, the dry run itself answers 412.
    second.locator("dialog.dry-run[open], .conflict").first.wait_for()
    if second.locator("dialog.dry-run[open]").count():
        second.locator("dialog.dry-run[open]").get_by_role("button", name="Apply and save").click()
    expect(conflict.get_by_role("heading", name="This profile was changed by someone else")).to_be_visible()
    expect(conflict).to_contain_text("Intermediate")
    conflict.get_by_role("button", name="Reload theirs").click()
    expect(second.get_by_text("Reloaded version 2.")).to_be_visible()
    expect(second.get_by_label("Destination store")).to_have_value("computerCertStoreIntermediate")
    expect(second.get_by_label("Certificate file name")).to_have_value("root.cer")
    view = api_json(scepter, "GET", f"/api/v1/trusted-certificate-profiles/{root['id']}")
    assert (view["version"], view["destinationStore"], view["certFileName"]) == \
        (2, "computerCertStoreIntermediate", "root.cer")


def test_edit_scep_profile_error_in_a_list_row_then_save(admin_page, scepter, tmp_path):
    page = admin_page
    root = seed_root(scepter, tmp_path)
    scep = seed_scep(scepter, root["id"])
    goto(page, scepter, f"/profiles/scep/{scep['id']}")
    page.get_by_role("button", name="Add SCEP server URL").click()
    page.get_by_label("SCEP server URL 2", exact=True).fill("ftp://scep.example.com/scep")
    page.get_by_role("button", name="Save").click()
    # The dry run validates like the real call: the 422 lands beside the second row.
    second_row = page.locator(".row-field", has=page.locator("input[name='scepServerUrls[1]']"))
    expect(second_row.locator(".field-error")).to_be_visible()
    expect(page.locator("dialog.dry-run[open]")).to_have_count(0)
    page.get_by_role("button", name="Remove SCEP server URL 2").click()
    page.get_by_role("button", name="Add subject alternative name").click()
    page.get_by_label("SAN type 1", exact=True).select_option("universalResourceIdentifier")
    page.get_by_label("SAN value 1", exact=True).fill("urn:device:{{DeviceId}}")
    page.get_by_role("button", name="Save").click()
    page.locator("dialog.dry-run[open]").get_by_role("button", name="Apply and save").click()
    expect(page.get_by_text("Saved: version 2.")).to_be_visible()
    view = api_json(scepter, "GET", f"/api/v1/scep-certificate-profiles/{scep['id']}")
    assert view["scepServerUrls"] == ["https://scep.example.com/scep"]
    assert view["customSubjectAlternativeNames"] == [
        {"sanType": "universalResourceIdentifier", "name": "urn:device:{{DeviceId}}"}]


def test_assign_a_trusted_profile(admin_page, scepter, tmp_path):
    page = admin_page
    root = seed_root(scepter, tmp_path)
    group = api_json(scepter, "POST", "/api/v1/groups",
                     {"displayName": unique("Trusted group"), "groupType": "user"}, expect_status=201)
    goto(page, scepter, f"/profiles/trusted/{root['id']}")
    page.get_by_label("Search groups").fill(group["displayName"])
    page.get_by_label("Group", exact=True).select_option(group["id"])
    page.get_by_label("Exclude").check()
    page.get_by_role("button", name="Assign").click()
    dialog = page.locator("dialog.dry-run[open]")
    # Counts where the server rehearses it, otherwise "Impact preview not available": either way,
    # nothing is written before Apply.
    expect(dialog.locator(".impact")).to_be_visible()
    assert api_json(scepter, "GET", f"/api/v1/trusted-certificate-profiles/{root['id']}/assignments")["items"] == []
    dialog.get_by_role("button", name="Apply").click()
    expect(page.locator(".profile-assignments table")).to_contain_text(group["displayName"])
    items = api_json(scepter, "GET", f"/api/v1/trusted-certificate-profiles/{root['id']}/assignments")["items"]
    assert [(a["groupId"], a["intent"]) for a in items] == [(group["id"], "exclude")]


@pytest.mark.parametrize("platform, content_type, extension", [
    ("windows10", "application/vnd.syncml.dm+xml", ".xml"),
    ("android", "application/json", ".json"),
])
def test_preview_download_per_platform(admin_page, scepter, tmp_path, platform, content_type, extension):
    page = admin_page
    root = seed_root(scepter, tmp_path, platform=platform)
    scep = seed_scep(scepter, root["id"], platform=platform)
    _, device = seed_fleet(scepter, root, scep)
    for kind, profile in (("trusted", root), ("scep", scep)):
        goto(page, scepter, f"/profiles/{kind}/{profile['id']}")
        page.get_by_label("Search devices").fill(device["deviceName"])
        page.get_by_label("Device", exact=True).select_option(device["id"])
        page.get_by_role("button", name="Preview", exact=True).click()
        expect(page.locator(".preview-result")).to_contain_text(content_type)
        with page.expect_download() as info:
            page.get_by_role("button", name=re.compile(rf"^Download .*\{extension}$")).click()
        assert info.value.suggested_filename.endswith(extension)
        downloaded = open(info.value.path(), "rb").read()
        if kind == "scep":
            _, _, raw = api(scepter, "POST", f"/api/v1/scep-certificate-profiles/{scep['id']}/preview",
                            {"deviceId": device["id"]}, headers={"Accept": content_type}, expect_status=200)
        else:
            _, _, raw = api(scepter, "GET",
                            f"/api/v1/trusted-certificate-profiles/{root['id']}/preview?deviceId={device['id']}",
                            headers={"Accept": content_type}, expect_status=200)
        expected = raw if isinstance(raw, (bytes, bytearray)) else None
        if expected is None:  # a JSON payload comes back parsed: compare with the JSON envelope's text
            envelope = api_json(scepter, "GET" if kind == "trusted" else "POST",
                                f"/api/v1/trusted-certificate-profiles/{root['id']}/preview?deviceId={device['id']}"
                                if kind == "trusted" else f"/api/v1/scep-certificate-profiles/{scep['id']}/preview",
                                None if kind == "trusted" else {"deviceId": device["id"]},
                                headers={"Accept": "*/*"})
            expected = envelope["payload"].encode("utf-8")
            assert json.loads(downloaded) == raw
        assert downloaded == bytes(expected)


def test_delete_scep_profile_after_its_dry_run(admin_page, scepter, tmp_path):
    page = admin_page
    root = seed_root(scepter, tmp_path)
    scep = seed_scep(scepter, root["id"])
    seed_fleet(scepter, root, scep)
    expected = api_json(scepter, "DELETE", f"/api/v1/scep-certificate-profiles/{scep['id']}?dryRun=true")
    goto(page, scepter, f"/profiles/scep/{scep['id']}")
    page.get_by_role("button", name="Delete profile").click()
    dialog = page.locator("dialog.dry-run[open]")
    for key in ("install", "reissue", "remove", "revoke", "unchanged"):
        expect(dialog.locator(f"[data-count-value={key}]")).to_have_text(str(expected["impact"][key]))
    dialog.get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r".*#/profiles\?kind=scep$"))
    expect(page.get_by_text(f"Deleted {scep['displayName']}.")).to_be_visible()
    api(scepter, "GET", f"/api/v1/scep-certificate-profiles/{scep['id']}", expect_status=404)
    # Its root is free again: deleting it (no rehearsal on the server yet, or one) works too.
    goto(page, scepter, f"/profiles/trusted/{root['id']}")
    page.get_by_role("button", name="Delete profile").click()
    page.locator("dialog.dry-run[open]").get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r".*#/profiles\?kind=trusted$"))
    api(scepter, "GET", f"/api/v1/trusted-certificate-profiles/{root['id']}", expect_status=404)


def test_certificate_file_reading_in_the_browser(admin_page, scepter, tmp_path):
    """profile-util.js's file handling: PEM kept as is (BOM dropped), DER → the same PEM openssl writes."""
    page = admin_page
    pem_path, _, der = make_ca(tmp_path, "Console File Root")
    pem = pem_path.read_text()
    cases = {
        "der": list(der),
        "pem": list(pem.encode()),
        "bom": list(b"\xef\xbb\xbf" + pem.encode()),
        "b64": list(base64.b64encode(der)),
        "junk": list(b"hello, not a certificate"),
    }
    results = page.evaluate("""async (cases) => {
        const util = await import('/console/js/pages/profile-util.js');
        const out = {};
        for (const [name, bytes] of Object.entries(cases)) {
            const r = util.readCertificateBytes(new Uint8Array(bytes));
            out[name] = { format: r.format, pem: r.pem,
                          der: r.der ? Array.from(r.der) : null,
                          sha1: r.der ? await util.thumbprint('SHA-1', r.der) : null };
        }
        out.ext = [util.payloadExtension('application/x-apple-aspen-config', 'ios'),
                   util.payloadExtension('application/vnd.syncml.dm+xml', 'windows10'),
                   util.payloadExtension('application/json', 'android')];
        return out;
    }""", cases)
    assert results["der"]["format"] == "DER"
    assert results["der"]["pem"] == pem  # byte for byte what openssl wrote
    assert results["pem"]["format"] == "PEM" and results["pem"]["pem"] == pem
    assert results["bom"]["format"] == "PEM" and results["bom"]["pem"] == pem
    assert results["b64"]["format"] == "DER (base64)" and results["b64"]["pem"] == pem
    for name in ("der", "pem", "bom", "b64"):
        assert bytes(results[name]["der"]) == der, name
    sha1 = subprocess.run(["openssl", "x509", "-in", str(pem_path), "-noout", "-fingerprint", "-sha1"],
                          check=True, capture_output=True, text=True).stdout
    assert results["der"]["sha1"] == sha1.split("=", 1)[1].strip().replace(":", "")
    assert results["junk"]["format"] == "unknown" and results["junk"]["der"] is None
    assert results["ext"] == ["mobileconfig", "xml", "json"]


def test_assign_by_keyboard_only(admin_page, scepter, tmp_path):
    page = admin_page
    root = seed_root(scepter, tmp_path)
    scep = seed_scep(scepter, root["id"])
    group, _ = seed_fleet(scepter, root, scep, assign=False)
    goto(page, scepter, f"/profiles/scep/{scep['id']}")
    search = page.get_by_label("Search groups")
    expect(page.get_by_label("Group", exact=True).locator(f"option[value='{group['id']}']")).to_have_count(1)
    search.focus()
    page.keyboard.type(group["displayName"])
    page.keyboard.press("Tab")  # the group select: the search left only this group
    expect(page.get_by_label("Group", exact=True)).to_be_focused()
    expect(page.get_by_label("Group", exact=True)).to_have_value(group["id"])
    page.keyboard.press("Tab")  # the intent radios (Include is checked)
    expect(page.get_by_label("Include")).to_be_focused()
    page.keyboard.press("ArrowDown")  # → Exclude
    expect(page.get_by_label("Exclude")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Assign")).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.dry-run[open]")
    expect(dialog.get_by_role("button", name="Apply")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    items = api_json(scepter, "GET", f"/api/v1/scep-certificate-profiles/{scep['id']}/assignments")["items"]
    assert [(a["groupId"], a["intent"]) for a in items] == [(group["id"], "exclude")]
