"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

Without Chromium these tests are skipped, unless SHIPEX_REQUIRE_BROWSER=1 (CI) makes that a failure.
SHIPEX_CHROMIUM points at another Chromium binary.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.accounts.factories import TEST_PASSWORD

BROWSER_TESTS = Path(__file__).parent
ARTIFACTS = BROWSER_TESTS.parents[1] / "test-artifacts"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# The machine reaches nothing but localhost: without these, Chromium keeps calling home and
# fills the log with refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPORTS = pytest.StashKey[dict]()


def pytest_collection_modifyitems(items):
    # This hook sees the whole session's items; mark only the ones in this folder.
    for item in items:
        if item.path.is_relative_to(BROWSER_TESTS):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item, so that `page` can tell whether the test failed.
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def find_chromium() -> tuple[str | None, str]:
    """The Chromium to drive, or None with the reason it was not found."""
    wanted = os.environ.get("SHIPEX_CHROMIUM")
    if wanted:
        return (wanted, "") if Path(wanted).is_file() else (None, f"SHIPEX_CHROMIUM={wanted} is not a file")
    found = DEFAULT_CHROMIUM if Path(DEFAULT_CHROMIUM).is_file() else shutil.which("chromium")
    return found, f"Chromium is neither at {DEFAULT_CHROMIUM} nor on PATH (Debian's package `chromium`)"


@pytest.fixture(scope="session")
def browser():
    executable, missing = find_chromium()
    if executable is None:
        if os.environ.get("SHIPEX_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Browser tests are required (SHIPEX_REQUIRE_BROWSER=1), but {missing}.", pytrace=False)
        pytest.skip(f"Browser tests skipped: {missing}.")

    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    # Safe: the test thread and the live server's thread are separate, and the event loop is
    # Playwright's own; no ORM call ever runs inside a coroutine.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go: git-ignored, kept after the run for a human to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser_locale():
    """The browser's language; override with ``@pytest.mark.parametrize("browser_locale", ["ru"])``."""
    return "uz"


@pytest.fixture
def page(request, browser, browser_locale, live_server):
    context = browser.new_context(locale=browser_locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    reports = request.node.stash.get(REPORTS, {})
    if any(report.failed for report in reports.values()):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=ARTIFACTS / f"failed-{name}.png", full_page=True)
    context.close()


@pytest.fixture
def login(live_server):
    """``login(page, user)``: sign in through the real login page and land on the admin index."""

    def sign_in(page, user):
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", TEST_PASSWORD)
        page.click("#login-form [type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        return page

    return sign_in
