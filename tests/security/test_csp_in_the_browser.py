"""Under our Content-Security-Policy every admin page still works in a real browser.

A superuser opens every list and add page, our own screens (the subject page, its history, the
reveal form, the consent report, the RoPA) and the public cookie register, and Chromium must report
no CSP violation and no script error. The widgets that Django's admin builds with JavaScript — the
two-box selector of filter_horizontal, the calendar of a date field, the action bar of a list —
are used, to show that their scripts ran.

The fixtures of tests/browser are not visible from here, and their Playwright, once started, holds
the test thread's event loop for the rest of the session (Playwright's sync API allows one per
thread). So each test drives a Chromium of its own, in a thread of its own, with the same binary
and flags; without Chromium it is skipped, or fails under SHIPEX_REQUIRE_BROWSER=1, as they do.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from playwright.sync_api import expect, sync_playwright

from tests.accounts.factories import TEST_PASSWORD, StaffFactory
from tests.browser.conftest import CHROMIUM_ARGS, find_chromium
from tests.disclosures.factories import RecipientFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.browser


PAGES = ("_changelist", "_add", "_report", "_ropa", "_overdue", "_grant", "_import")


def admin_pages() -> list[str]:
    """Every list and add page of the admin, and our other screens that need no object."""
    names = []

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif (
                isinstance(pattern, URLPattern) and namespace == "admin" and not pattern.pattern.converters
                and (pattern.name or "").endswith(PAGES)
            ):
                names.append(pattern.name)

    walk(get_resolver().url_patterns, None)
    return [reverse(f"admin:{name}") for name in names]


class Watcher:
    """What Chromium says about the page: CSP violations (console) and uncaught script errors."""

    def __init__(self, page):
        self.problems = []
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: script error: {error}"))
        self.page = page

    def console(self, message):
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.problems.append(f"{self.page.url}: {message.text}")


@pytest.fixture
def chromium():
    executable, missing = find_chromium()
    if executable is None:
        if os.environ.get("SHIPEX_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Browser tests are required (SHIPEX_REQUIRE_BROWSER=1), but {missing}.", pytrace=False)
        pytest.skip(f"Browser tests skipped: {missing}.")
    return executable


def in_chromium(executable: str, steps):
    """``steps(page)`` in a fresh headless Chromium on a thread of its own; returns what it returns."""

    def run():
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(locale="uz", viewport={"width": 1280, "height": 900})
                context.set_default_timeout(10_000)
                return steps(context.new_page())
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(run).result()


def sign_in(page, live_server, user):
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", TEST_PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{live_server.url}{reverse('admin:index')}")


@pytest.fixture
def superuser(catalogue):
    return StaffFactory(username="root", is_superuser=True)


def test_every_admin_page_works_under_the_policy(chromium, live_server, superuser):
    subject = DataSubjectFactory()
    AddressFactory(subject=subject)
    RecipientFactory()
    pages = admin_pages()
    assert len(pages) > 40
    pages += [
        reverse("admin:subjects_datasubject_change", args=[subject.pk]),
        reverse("admin:subjects_datasubject_history", args=[subject.pk]),
        f"{reverse('admin:subjects_datasubject_reveal', args=[subject.pk])}?field=pinfl",
    ]

    def steps(page):
        watcher = Watcher(page)
        page.goto(f"{live_server.url}/public/cookies/uz/")
        sign_in(page, live_server, superuser)  # the login page, too
        refused = []
        for path in pages:
            response = page.goto(f"{live_server.url}{path}")
            # Read-only records (the access log, the trail, axes' logs) refuse even a superuser an add page.
            if not (response.status == 200 or (path.endswith("/add/") and response.status == 403)):
                refused.append(f"{path}: {response.status}")
        return refused, watcher.problems

    refused, problems = in_chromium(chromium, steps)
    assert refused == []
    assert problems == []


def test_the_admins_scripted_widgets_run_under_the_policy(chromium, live_server, superuser):
    def steps(page):
        watcher = Watcher(page)
        sign_in(page, live_server, superuser)

        # filter_horizontal: SelectFilter2.js turns the multiple select into two boxes.
        page.goto(f"{live_server.url}{reverse('admin:disclosures_recipient_add')}")
        expect(page.locator(".field-services .selector .selector-available")).to_be_visible()
        # A date field: DateTimeShortcuts.js adds "Today" and a calendar that opens.
        shortcuts = page.locator(".field-contract_starts_on .datetimeshortcuts")
        expect(shortcuts.locator("a").first).to_be_visible()
        link = shortcuts.locator("a[id^=calendarlink]")
        number = link.get_attribute("id").removeprefix("calendarlink")  # one box per date field on the page
        link.click()
        expect(page.locator(f"#calendarbox{number}")).to_be_visible()

        # A list with filters and actions: actions.js counts the selected rows.
        page.goto(f"{live_server.url}{reverse('admin:catalogue_personaldatafield_changelist')}")
        expect(page.locator("#changelist-filter")).to_be_visible()
        counter = page.locator(".action-counter")
        before = counter.inner_text()
        page.locator("#result_list input.action-select").first.check()
        expect(counter).not_to_have_text(before)
        return watcher.problems

    assert in_chromium(chromium, steps) == []
