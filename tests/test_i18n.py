"""The back office speaks Uzbek (Latin) by default, and Russian and English on request."""

import datetime
import gettext
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import formats, translation

LOCALE = Path(__file__).resolve().parents[1] / "locale"
LANGUAGES = ["uz", "ru"]


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural and msgstr / msgstr[n], and flags."""
    entries, entry, key = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry if entry is not None else {"flags": ""}
        if line.startswith("#,"):
            entry["flags"] += line
        elif line.startswith("#"):
            continue
        elif match := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) "(.*)"$', line):
            key = match[1]
            entry[key] = match[2]
        elif line.startswith('"') and key:
            entry[key] += line[1:-1]
    return entries


def unescape(text: str) -> str:
    """A .po string literal's value: \\n, \\t, \\" and \\\\ become what they stand for."""
    return re.sub(r"\\(.)", lambda match: {"n": "\n", "t": "\t"}.get(match[1], match[1]), text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_ours_is_translated(language):
    entries = [entry for entry in po_entries(LOCALE / language / "LC_MESSAGES" / "django.po") if entry["msgid"]]
    assert len(entries) > 100
    untranslated = [
        entry["msgid"] for entry in entries
        if "fuzzy" in entry["flags"] or any(value == "" for key, value in entry.items() if key.startswith("msgstr"))
    ]
    assert untranslated == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_hand_kept_entries_are_in_the_catalogue(language):
    """makemessages --no-obsolete drops the fixes for Django's own gaps; `make messages` merges them back."""
    def keys(path):
        return {(entry.get("msgctxt"), entry["msgid"]) for entry in po_entries(path) if entry["msgid"]}

    missing = keys(LOCALE / language / "admin-gaps.po") - keys(LOCALE / language / "LC_MESSAGES" / "django.po")
    assert sorted(missing, key=str) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_po_file(language):
    """The committed .mo must be compiled from the committed .po (run `make messages`)."""
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)._catalog
    for entry in po_entries(folder / "django.po"):
        if not entry["msgid"] or "msgid_plural" in entry:
            continue
        key = unescape(entry["msgid"])
        if "msgctxt" in entry:
            key = f"{unescape(entry['msgctxt'])}\x04{key}"
        assert catalogue.get(key) == unescape(entry["msgstr"]), f"{language}: {key!r} is stale in django.mo"


def test_uzbek_uses_the_proper_letters():
    text = (LOCALE / "uz" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    translations = "".join(line for line in text.splitlines() if line.startswith("msgstr"))
    assert "oʻ" in translations or "Oʻ" in translations
    assert "o'" not in translations and "g'" not in translations


@pytest.mark.django_db
def test_the_admin_speaks_uzbek_by_default(client, support_agent):
    client.force_login(support_agent)
    page = client.get(reverse("admin:index")).content.decode()
    assert '<html lang="uz"' in page
    with translation.override("uz"):
        assert translation.gettext("Data subjects") in page
        assert translation.gettext("Data subjects") != "Data subjects"


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "title"), [("ru", "Субъект"), ("en", "Data subjects")])
def test_staff_switch_the_language_from_the_header(client, support_agent, language, title):
    client.force_login(support_agent)
    index = reverse("admin:index")
    assert 'action="/i18n/setlang/"' in client.get(index).content.decode()
    response = client.post(reverse("set_language"), {"language": language, "next": index}, follow=True)
    page = response.content.decode()
    assert f'<html lang="{language}"' in page
    assert title in page


@pytest.mark.django_db
def test_a_browser_asking_for_english_still_gets_uzbek_until_staff_choose(client, support_agent):
    client.force_login(support_agent)
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9,ru;q=0.8").content.decode()
    assert '<html lang="uz"' in page


@pytest.mark.django_db
def test_the_login_page_offers_the_languages_before_signing_in(client):
    page = client.get(reverse("admin:login")).content.decode()
    assert 'id="language-switch"' in page
    response = client.post(reverse("set_language"), {"language": "ru", "next": reverse("admin:login")}, follow=True)
    assert '<html lang="ru"' in response.content.decode()


def test_uzbek_dates_and_inline_buttons_read_as_uzbek_is_written():
    """Django's Uzbek capitalises a month inside a date ("29-Noyabr") and puts "Yana" before a
    capitalised model name ("Yana Manzil qoʻshish"); ours write them as an Uzbek reader expects."""
    with translation.override("uz"):
        assert formats.date_format(datetime.date(2026, 11, 29)) == "29-noyabr, 2026-yil"
        assert translation.gettext("Add another %(verbose_name)s") % {"verbose_name": "Manzil"} == "Manzil qoʻshish"
