"""Content-Security-Policy and the usual security headers, on the admin and on the framed public register."""

import re
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
REGISTER = "/public/cookies/uz/"


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.fixture
def admin_page(client, compliance_officer):
    client.force_login(compliance_officer)
    return client.get(reverse("admin:subjects_datasubject_changelist"))


def test_admin_pages_run_only_our_own_scripts_and_styles(admin_page):
    policy = directives(admin_page)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "unsafe-inline" not in admin_page["Content-Security-Policy"]
    assert "unsafe-eval" not in admin_page["Content-Security-Policy"]


def test_admin_pages_may_not_be_framed(admin_page, client):
    assert directives(admin_page)["frame-ancestors"] == ["'none'"]
    assert admin_page["X-Frame-Options"] == "DENY"
    login = client.get(reverse("admin:login"))
    assert directives(login)["frame-ancestors"] == ["'none'"]


def test_the_usual_security_headers(admin_page):
    assert admin_page["X-Content-Type-Options"] == "nosniff"
    assert admin_page["Referrer-Policy"] == "same-origin"
    assert admin_page["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_public_cookie_register_may_be_framed_by_the_shipex_website(client):
    response = client.get(REGISTER)
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    policy = directives(response)
    assert policy["frame-ancestors"] == ["'self'", "https://shipex.uz", "https://www.shipex.uz"]
    # The rest of the policy still holds there.
    assert policy["script-src"] == ["'self'"]


@override_settings(SHIPEX_WEBSITE_ORIGINS=["https://shipex.example"])
def test_the_website_origins_come_from_the_settings(client):
    response = client.get("/public/cookies/en/")
    assert directives(response)["frame-ancestors"] == ["'self'", "https://shipex.example"]


INLINE = [
    ("an inline <script>", re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)),
    ("a <style> block", re.compile(r"<style\b", re.I)),
    ("a style= attribute", re.compile(r"\sstyle\s*=", re.I)),
    ("an on…= handler", re.compile(r"\son[a-z]+\s*=", re.I)),
    ("a javascript: URL", re.compile(r"javascript:", re.I)),
]


# Files we hand to subjects, opened from a zip on their own machine, never served under our policy:
# they carry their own styles so that they read well offline.
# Likewise staff e-mail: mail clients load no style sheet, so a mail's styles are inline.
NOT_SERVED = (TEMPLATES / "rights_requests" / "access_package", TEMPLATES / "notifications")


@pytest.mark.parametrize(
    "template", sorted(path for path in TEMPLATES.rglob("*.html")
                       if not any(path.is_relative_to(folder) for folder in NOT_SERVED)),
    ids=lambda path: str(path.relative_to(TEMPLATES)),
)
def test_our_templates_have_nothing_inline_that_the_policy_would_block(template):
    text = template.read_text(encoding="utf-8")
    found = [what for what, pattern in INLINE if pattern.search(text)]
    assert found == [], f"{template.relative_to(TEMPLATES)} has {', '.join(found)}: move it to a static file"
