"""Fixtures for the console's browser tests.

The server is started by scripts/browser-tests.sh (a fresh SQLite database on a
free loopback port) and described by the environment:

    SCEPTER_URL, SCEPTER_ADMIN_TOKEN, SCEPTER_READER_TOKEN
    SCEPTER_SCREENSHOT_DIR   (default target/console-screenshots/)
    SCEPTER_CHROMIUM         (default /usr/bin/chromium)

Every test is also checked, after it ran, for what the issue requires of the
console as a whole: each API call it made (recorded in window.__scepterRequests
by api.js) is an operation of openapi/openapi.json, and the browser console
showed no errors and no native dialog (alert/confirm) was opened.
"""

from __future__ import annotations

import json as _json
import os
import pathlib
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, expect, sync_playwright

REPO = pathlib.Path(__file__).resolve().parents[2]
OPENAPI = REPO / "openapi" / "openapi.json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}

# Forwards every push onto window.__scepterRequests to Python, so calls made
# before a reload are not lost. Injected by Playwright (not subject to the CSP).
RECORD_REQUESTS = """
(() => {
  const record = [];
  const proxy = new Proxy(record, {
    set(target, key, value) {
      target[key] = value;
      if (key !== 'length' && typeof window.__scepterRecord === 'function') {
        window.__scepterRecord(value);
      }
      return true;
    },
  });
  Object.defineProperty(window, '__scepterRequests', { value: proxy, writable: true, configurable: true });
})();
"""


def screenshot_dir() -> pathlib.Path:
    directory = pathlib.Path(
        os.environ.get("SCEPTER_SCREENSHOT_DIR") or REPO / "target" / "console-screenshots"
    )
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def screenshot(page: Page, name: str) -> pathlib.Path:
    """Saves a full-page PNG of `page` as <screenshot dir>/<name>.png."""
    path = screenshot_dir() / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class Scepter:
    """The server under test, and a urllib client for seeding and comparing."""

    base_url: str
    admin_token: str
    reader_token: str
    openapi: dict

    def api(self, method: str, path: str, json=None, headers=None, token=None):
        """(status, headers, body): body parsed when JSON, else bytes. Never raises on 4xx/5xx."""
        payload = json
        request_headers = {"Accept": "application/json"}
        request_headers["Authorization"] = f"Bearer {token or self.admin_token}"
        data = None
        if payload is not None:
            data = _json_dumps(payload).encode()
            request_headers["Content-Type"] = "application/json"
        request_headers.update(headers or {})
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method.upper(), headers=request_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), _parse(response)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), _parse(error)

    def ok(self, method: str, path: str, json=None, headers=None, token=None):
        """api() that asserts a 2xx and returns the body."""
        status, _, body = self.api(method, path, json=json, headers=headers, token=token)
        assert 200 <= status < 300, f"{method} {path}: {status} {body!r}"
        return body

    def operations(self) -> set[tuple[str, str]]:
        return {
            (method.upper(), path)
            for path, item in self.openapi["paths"].items()
            for method in item
            if method in METHODS
        }


def _json_dumps(value) -> str:
    return _json.dumps(value)


def _parse(response):
    raw = response.read()
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type and raw:
        return _json.loads(raw)
    return raw


@pytest.fixture(scope="session")
def scepter() -> Scepter:
    missing = [
        name
        for name in ("SCEPTER_URL", "SCEPTER_ADMIN_TOKEN", "SCEPTER_READER_TOKEN")
        if not os.environ.get(name)
    ]
    if missing:
        pytest.exit(
            f"{', '.join(missing)} not set: run the browser tests with scripts/browser-tests.sh",
            returncode=2,
        )
    return Scepter(
        base_url=os.environ["SCEPTER_URL"].rstrip("/"),
        admin_token=os.environ["SCEPTER_ADMIN_TOKEN"],
        reader_token=os.environ["SCEPTER_READER_TOKEN"],
        openapi=_json.loads(OPENAPI.read_text()),
    )


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("SCEPTER_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # Root in a container has no user namespace for the sandbox.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@dataclass
class Opened:
    """A page the test opened, and what was observed on it."""

    page: Page
    requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)


# "Failed to load resource: … status of 412" is Chromium reporting an API
# answer the console expected and handled (a 412 conflict, a 422 validation
# error, a 404 it shows as "not found"). Only 4xx from /api/ are tolerated:
# a missing console file or any script error still fails the test.
TOLERATED_NETWORK_ERROR = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


class Browsing:
    """Opens pages for one test and checks them afterwards."""

    def __init__(self, browser, scepter: Scepter):
        self.browser = browser
        self.scepter = scepter
        self.opened: list[Opened] = []
        self.contexts = []

    def new_context(self, **options):
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = self.browser.new_context(**options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context

    def new_page(self, context=None) -> Page:
        context = context or self.new_context()
        page = context.new_page()
        opened = Opened(page)
        page.expose_binding("__scepterRecord", lambda _source, entry: opened.requests.append(entry))
        page.add_init_script(RECORD_REQUESTS)

        def on_console(message):
            if message.type != "error":
                return
            url = (message.location or {}).get("url", "")
            if TOLERATED_NETWORK_ERROR.search(message.text) and "/api/v1/" in url:
                return
            opened.console_errors.append(f"{message.text} ({url})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: opened.console_errors.append(f"uncaught: {error}"))

        def on_dialog(dialog):
            opened.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        self.opened.append(opened)
        return page

    def sign_in(self, page: Page, token: str) -> Page:
        page.goto(f"{self.scepter.base_url}/console/")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
        return page

    def new_admin_page(self, context=None, **options) -> Page:
        return self.sign_in(self.new_page(context or self.new_context(**options)), self.scepter.admin_token)

    def new_reader_page(self, context=None, **options) -> Page:
        return self.sign_in(self.new_page(context or self.new_context(**options)), self.scepter.reader_token)

    def check(self):
        operations = self.scepter.operations()
        problems = []
        for opened in self.opened:
            if not opened.page.is_closed():
                try:
                    present = opened.page.evaluate("Array.isArray(window.__scepterRequests)")
                except Exception:  # navigated away mid-check: the binding has the calls
                    present = True
                if not present:
                    problems.append("window.__scepterRequests is missing (api.js not loaded?)")
            for entry in opened.requests:
                key = (str(entry.get("method", "")).upper(), entry.get("template"))
                if key not in operations:
                    problems.append(f"undocumented call: {key[0]} {key[1]}")
            problems.extend(f"browser console: {error}" for error in opened.console_errors)
            problems.extend(f"native dialog opened: {dialog}" for dialog in opened.dialogs)
        return problems

    def close(self):
        for context in self.contexts:
            try:
                context.close()
            except Exception:
                pass


@pytest.fixture
def browsing(browser, scepter):
    """Every page a test opens, checked after the test (see the module doc)."""
    browsing = Browsing(browser, scepter)
    yield browsing
    try:
        problems = browsing.check()
    finally:
        browsing.close()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _console_checks(request):
    """Makes the checks in `browsing` run for every test that uses a browser."""
    if {"admin_page", "reader_page", "browser_context", "new_admin_page"} & set(request.fixturenames):
        request.getfixturevalue("browsing")
    yield


@pytest.fixture
def admin_page(browsing) -> Page:
    """A tab signed in as admin through the Token field, at the Dashboard."""
    return browsing.new_admin_page()


@pytest.fixture
def reader_page(browsing) -> Page:
    """A tab signed in as reader, at the Dashboard."""
    return browsing.new_reader_page()


@pytest.fixture
def browser_context(browsing):
    """Opens more tabs: `.new_admin_page()`, `.new_reader_page()`, `.new_page()` (not signed in)."""
    return browsing


@pytest.fixture
def new_admin_page(browsing):
    """A factory for another signed-in admin tab (for two-tab conflicts)."""
    return browsing.new_admin_page


@pytest.fixture(name="screenshot")
def screenshot_fixture():
    """`screenshot(page, name)`: saves a PNG into the screenshot directory."""
    return screenshot
