"""No English on an Uzbek or Russian page or letter (issue 13).

Every admin list and record page as each role, the home, the access package's readable copy, a
consent receipt and the public cookie register are read in uz and ru, and their text is searched
for English:

* **seeded content, strictly**: the English text of every seeded row that has its Uzbek and
  Russian twins (systems and their teams, protection measures and their owners, deadline rules'
  legal references and notes, statutory retention references, the cookie register's texts). Any
  of them on a uz or ru page fails.
  Lists are checked, and so is what subjects read; a record's own change page is not, as it
  holds the first-written text beside its twins for editing.
* **our own strings**: the msgids of our .po catalogue that have a translation there. Strings
  other work adds before its translation pass have none yet and are not looked for (a test of
  the catalogue itself, tests/test_i18n.py, asks that every entry be translated). Strict on what
  subjects read and on admin pages, except the audit trail, which quotes reasons as written.

Short or code-like texts (a word, a brand, ``ShipEx``, a catalogue code) are not looked for: they
read the same in every language or are no English sentence.
"""

import re
import zipfile
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.urls import URLResolver, reverse
from django.utils import timezone

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.catalogue.models import ProcessingActivity, Purpose, RetentionRule, System
from shipex_privacy.consents.models import Cookie, Counter
from shipex_privacy.consents.services import Evidence, consent_grant
from shipex_privacy.protection.models import Measure
from shipex_privacy.rights_requests.models import DeadlineRule
from shipex_privacy.rights_requests.services import request_receive, request_verify_identity
from tests.accounts.factories import StaffFactory
from tests.consents.factories import PolicyVersionFactory
from tests.rights_requests.factories import build_package
from tests.subjects.factories import AddressFactory, DataSubjectFactory
from tests.test_i18n import LOCALE, po_entries, unescape

pytestmark = pytest.mark.django_db

LANGUAGES = ("uz", "ru")
ROLES = (COMPLIANCE_OFFICER, SUPPORT_AGENT, AUDITOR)
# Seeded models and the fields that have uz/ru twins (core.i18n.in_language).
SEEDED = (
    (System, ("name", "owner", "description", "transfer_reference")),
    (Measure, ("title", "owner", "description")),
    (DeadlineRule, ("legal_reference", "note")),
    (RetentionRule, ("legal_reference",)),
    (Cookie, ("required_by",)),
    (Counter, ("placement",)),
    (ProcessingActivity, ("description",)),
)
# Pages that show what was written as it was written: the change history and the audit trail
# quote the seed's English rows, which are evidence and are never rewritten.
QUOTES_THE_RECORD = ("audit.trailentry",)
# A schedule's name is its key (django-celery-beat), kept as typed: its own page and the pages of its
# timings show it so; the schedules list shows the default ones translated.
SCHEDULE_RECORD_PAGES = ("django_celery_beat.periodictask #", "django_celery_beat.crontabschedule #",
                         "django_celery_beat.intervalschedule #")


class PageText(HTMLParser):
    """The text a reader sees: text nodes outside script and style, one per line."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def page_text(html: str) -> str:
    parser = PageText()
    parser.feed(html)
    return "\n".join(parser.parts)


def sentence_like(text: str) -> bool:
    """Worth looking for: two words or more of letters, not a code, a placeholder or a brand."""
    text = text.strip()
    return (len(text) >= 12 and " " in text and not re.search(r"[%{}<>]|\bShipEx\b", text)
            and bool(re.search(r"[a-z]{3}", text)))


def seeded_english() -> set[str]:
    texts = set()
    for model, fields in SEEDED:
        for obj in model.objects.all():
            for field in fields:
                english = getattr(obj, field)
                twins = {getattr(obj, f"{field}_{language}") for language in LANGUAGES}
                if all(twins) and english not in twins and sentence_like(english):
                    texts.add(english)
    return texts


def po_english(language: str) -> set[str]:
    texts = set()
    for entry in po_entries(LOCALE / language / "LC_MESSAGES" / "django.po"):
        msgid, msgstr = unescape(entry["msgid"]), unescape(entry.get("msgstr", ""))
        if msgstr and msgstr != msgid and "fuzzy" not in entry["flags"] and "msgid_plural" not in entry:
            texts |= {line for line in msgid.split("\n") if sentence_like(line)}
    return texts


def english_on(text: str, english: set[str]) -> list[str]:
    return sorted(phrase for phrase in english if phrase in text)


@pytest.fixture
def every_kind_of_page(db):
    """A subject with an address, a consent with its receipt and a verified access request."""
    subject = DataSubjectFactory(account_id="SX3000001", preferred_language="uz")
    AddressFactory(subject=subject)
    event = consent_grant(
        subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"),
        policy_version=PolicyVersionFactory(published=True), actor=None,
        occurred_at=timezone.now() - timedelta(days=3), evidence=Evidence(channel="app"),
    )
    return {"subject": subject, "event": event}


# Admin URLs without arguments that are not pages to read: sign-in and -out, JSON for widgets, a download.
NOT_PAGES = ("index", "login", "logout", "password_change", "password_change_done", "autocomplete", "jsi18n",
             "audit_trailentry_export")


def own_admin_views():
    """Names of the admin's pages that take no argument beyond the lists: reports, registers, forms."""
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif pattern.name and not pattern.pattern.converters and not pattern.pattern.regex.groups:
                yield pattern.name

    return sorted(name for name in walk(admin.site.get_urls())
                  if name not in NOT_PAGES and not name.endswith(("_changelist", "_add")))


def admin_pages(client, role: str):
    """(label, text) of every list, record and own page (report, register, form) the role may open."""
    client.force_login(StaffFactory(role=role))
    yield "home", client.get(reverse("admin:index"))
    for name in own_admin_views():
        yield f"{name} page", client.get(reverse(f"admin:{name}"))
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        yield f"{model._meta.label_lower} list", client.get(reverse(f"admin:{info}_changelist"))
        obj = model_admin.model._base_manager.order_by("pk").first()
        if obj is not None:
            yield f"{model._meta.label_lower} #{obj.pk}", client.get(reverse(f"admin:{info}_change", args=[obj.pk]))


def readable_pages(client, language: str, every_kind_of_page):
    """The pages subjects read: the public register, a consent receipt, an access package's copy."""
    subject = every_kind_of_page["subject"]
    subject.preferred_language = language
    subject.save()
    yield "public register", client.get(reverse("consents:cookie_register_html", args=[language])).content.decode()
    client.force_login(StaffFactory(role=AUDITOR))
    receipt = reverse("admin:consents_consentevent_receipt", args=[every_kind_of_page["event"].pk])
    yield "consent receipt", client.get(receipt).content.decode()
    agent = StaffFactory(role=SUPPORT_AGENT)
    request = request_receive(kind="access", channel="app", actor=agent, subject=subject,
                              requester_name="Aziza Tursunova", requester_contact="+998 90 123 45 67",
                              details="Menga barcha maʼlumotlarimning nusxasini yuboring.")
    request = request_verify_identity(request=request, method="sms_code", actor=agent)
    package = build_package(request, agent)
    with package.file.open("rb") as stored, zipfile.ZipFile(stored) as bundle:
        yield "access package", bundle.read("index.html").decode()


def test_the_seeded_rows_have_their_uzbek_and_russian():
    """The check below looks for what it should: every seeded text of these models is translated."""
    found = seeded_english()
    assert "Role-based access in the back office" in found and "Compliance team" in found
    assert "All forms of the website" in found and "shipex.uz, all pages" in found
    assert "to be confirmed by counsel" in found


def test_the_walk_includes_the_admins_own_pages():
    assert {"disclosures_disclosure_ropa", "consents_consent_report", "rights_requests_subjectrequest_dashboard",
            "retention_retentionrun_expiring"} <= set(own_admin_views())


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_seeded_english_on_any_page(client, language, every_kind_of_page):
    seeded = seeded_english()
    client.cookies["django_language"] = language
    found = {}
    for role in ROLES:
        for label, response in admin_pages(client, role):
            # A record's own page holds the text as first written beside its uz/ru twins, to be edited.
            is_record_page = "#" in label
            if response.status_code != 200 or is_record_page or label.startswith(QUOTES_THE_RECORD):
                continue
            if phrases := english_on(page_text(response.content.decode()), seeded):
                found[f"{role}: {label}"] = phrases
    for label, html in readable_pages(client, language, every_kind_of_page):
        if phrases := english_on(page_text(html), seeded):
            found[label] = phrases
    assert found == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_what_subjects_read_has_no_english_of_ours(client, language, every_kind_of_page):
    english = seeded_english() | po_english(language)
    found = {}
    for label, html in readable_pages(client, language, every_kind_of_page):
        text = page_text(html)
        if phrases := english_on(text, english):
            found[label] = phrases
        # Internal notes and catalogue codes are for staff.
        assert "confirmed by counsel" not in text, label
        assert "account.account_id" not in text, label
    assert found == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_pages_have_no_translated_english_of_ours(client, language, every_kind_of_page):
    """The list in the failure is what still shows English although the catalogue translates it."""
    english = po_english(language)
    client.cookies["django_language"] = language
    found = {}
    for role in ROLES:
        for label, response in admin_pages(client, role):
            if label.startswith(QUOTES_THE_RECORD + SCHEDULE_RECORD_PAGES):
                continue  # the trail quotes each change's reason as it was written
            if response.status_code == 200 and (phrases := english_on(page_text(response.content.decode()), english)):
                found.setdefault(label, phrases)
    assert found == {}
