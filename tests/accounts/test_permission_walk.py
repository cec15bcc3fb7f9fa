"""The complete permission matrix: every registered admin page and action, for every role.

The hand-written table in test_roles.py says what each role does; this walk makes sure nothing
registered later slips past the two rules the design cannot bend: auditors never write anything
anywhere, and support agents never touch the catalogue, recipients or registers.
"""

from datetime import date

import pytest
from django.contrib import admin
from django.contrib.messages import ERROR, get_messages
from django.test import Client, RequestFactory
from django.urls import reverse
from simple_history.models import HistoricalRecords

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.disclosures.models import PublicChoice
from tests.accounts.factories import StaffFactory
from tests.audit.page_forms import form_values
from tests.consents.factories import PolicyVersionFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.integrations.factories import make_api_client
from tests.protection.factories import IncidentFactory, MeasureFactory, ProtectionLevelFactory, ResponsiblePersonFactory
from tests.retention.factories import LegalHoldFactory
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

# Apps and models a support agent has no business in (design.md, "Roles").
OFF_LIMITS_FOR_SUPPORT = {
    "catalogue", "protection", "disclosures.recipient", "consents.cookie", "consents.counter",
    "audit.accessevent", "audit.trailentry", "integrations", "jobs", "django_celery_beat",
}
DENIED = (302, 403)  # refused, or sent to the login page

# Write pages outside the standard add/change/delete views, with the object they need.
CUSTOM_WRITES = [
    ("admin:consents_policyversion_publish", "policy"),
    ("admin:consents_consent_grant", None),
    ("admin:consents_consent_import", None),
    ("admin:disclosures_disclosure_submit", "disclosure"),
    ("admin:disclosures_disclosure_approve", "disclosure"),
    ("admin:disclosures_disclosure_return", "disclosure"),
    ("admin:disclosures_disclosure_send", "disclosure"),
    ("admin:disclosures_disclosure_correct", "disclosure"),
    *((f"admin:rights_requests_subjectrequest_{step}", "request")
      for step in ("match", "verify", "move", "extend", "pause", "resume", "stop", "correct", "build", "erase")),
    ("admin:retention_legalhold_release", "hold"),
]


@pytest.fixture
def records():
    AddressFactory()
    make_api_client()
    return {"policy": PolicyVersionFactory(), "disclosure": DisclosureFactory(), "request": SubjectRequestFactory(),
            "hold": LegalHoldFactory()}


def some_object(model_admin):
    return model_admin.model._base_manager.order_by("pk").first()


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def off_limits(model) -> bool:
    return model._meta.app_label in OFF_LIMITS_FOR_SUPPORT or model._meta.label_lower in OFF_LIMITS_FOR_SUPPORT


def test_auditors_never_write_anywhere(client, records):
    auditor = StaffFactory(role=AUDITOR)
    client.force_login(auditor)
    request = RequestFactory().get("/admin/")
    request.user = auditor
    for model, model_admin in registered():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        label = model._meta.label
        assert not model_admin.has_add_permission(request), label
        assert client.get(reverse(f"admin:{info}_add")).status_code in DENIED, label
        if model_admin.has_view_permission(request):  # a list the auditor can open offers no action
            assert not list(model_admin.get_actions(request)), label
        else:
            assert client.get(reverse(f"admin:{info}_changelist")).status_code in DENIED, label
        obj = some_object(model_admin)
        if obj is None:
            continue
        assert not model_admin.has_change_permission(request, obj), label
        assert not model_admin.has_delete_permission(request, obj), label
        change = reverse(f"admin:{info}_change", args=[obj.pk])
        assert client.post(change, {}).status_code in DENIED, label
        assert client.post(reverse(f"admin:{info}_delete", args=[obj.pk]), {"post": "yes"}).status_code in DENIED
    for name, needs in CUSTOM_WRITES:
        url = reverse(name, args=[records[needs].pk]) if needs else reverse(name)
        assert client.post(url, {}).status_code in DENIED, name


def test_support_agents_never_touch_the_catalogue_recipients_or_registers(client, records):
    agent = StaffFactory(role=SUPPORT_AGENT)
    client.force_login(agent)
    walked = 0
    for model, model_admin in registered():
        if not off_limits(model):
            continue
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"admin:{info}_changelist")).status_code in DENIED, model._meta.label
        assert client.get(reverse(f"admin:{info}_add")).status_code in DENIED, model._meta.label
        obj = some_object(model_admin)
        if obj is not None:
            assert client.get(reverse(f"admin:{info}_change", args=[obj.pk])).status_code in DENIED
        walked += 1
    assert walked >= 10


@pytest.mark.parametrize("role", [COMPLIANCE_OFFICER, SUPPORT_AGENT, AUDITOR])
def test_every_page_a_role_may_open_opens(client, role, records):
    """No registered list or record page of any role ends in a server error."""
    user = StaffFactory(role=role)
    client.force_login(user)
    for model, model_admin in registered():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"admin:{info}_changelist")).status_code in (200, 302, 403), model._meta.label
        obj = some_object(model_admin)
        if obj is not None:
            status = client.get(reverse(f"admin:{info}_change", args=[obj.pk])).status_code
            assert status in (200, 302, 403), model._meta.label


# ---- The POST walk: every write URL, posted by every role -----------------------------------------
#
# Each role posts to every add, change and delete page, every admin action (the ones the most
# privileged user is offered, so a role is also tried on actions it is not shown) and every custom
# step. A change is posted with the values a superuser's page holds (a valid form, current version),
# so a refusal is the permission check, not a form error. The figures feed the closing note of issue 10.

ROLES = (AUDITOR, SUPPORT_AGENT, COMPLIANCE_OFFICER)  # the one who may write most goes last


@pytest.fixture
def every_record(records):
    subject = DataSubjectFactory()
    PublicChoice.objects.create(subject=subject, field=PersonalDataField.objects.get(code="contact.phone"),
                                made_public_on=date(2026, 1, 5), evidence="Telegram channel of the shop")
    RecipientFactory()
    MeasureFactory()
    IncidentFactory()
    ProtectionLevelFactory()
    ResponsiblePersonFactory()
    return records


def history_rows() -> dict[str, int]:
    """Rows in every history table (of the registered models and their m2m fields), by tracked model."""
    tracked = list(HistoricalRecords.m2m_models.values())
    tracked += [model.history.model for model in admin.site._registry if hasattr(model, "history")]
    return {getattr(model, "instance_type", model)._meta.label_lower: model._base_manager.count()
            for model in tracked}


def superuser_values(superuser_client, url) -> dict:
    response = superuser_client.get(url)
    if response.status_code != 200 or "opts" not in (response.context or {}):
        return {}
    values = form_values(response.content.decode(), f"{response.context['opts'].model_name}_form")
    values.pop("csrfmiddlewaretoken", None)
    if "change_reason" in values:
        values["change_reason"] = ["Permission walk"]
    return values


def posts(superuser_client, records):
    """Every write URL with what it is posted with: (what, url, data, the permission a write there needs)."""
    request = RequestFactory().get("/admin/")
    request.user = StaffFactory(username="walk-root", is_superuser=True)
    for model, model_admin in registered():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        label = model._meta.label_lower
        add = reverse(f"admin:{info}_add")
        perm = f"{model._meta.app_label}.{{}}_{model._meta.model_name}"
        yield f"{label} add", add, superuser_values(superuser_client, add), perm.format("add")
        obj = some_object(model_admin)
        if obj is not None:
            change = reverse(f"admin:{info}_change", args=[obj.pk])
            yield f"{label} change", change, superuser_values(superuser_client, change), perm.format("change")
            for action in model_admin.get_actions(request):
                yield (f"{label} action {action}", reverse(f"admin:{info}_changelist"),
                       {"action": action, "_selected_action": [obj.pk], "index": "0", "post": "yes"},
                       perm.format("delete" if action == "delete_selected" else "change"))
            delete = reverse(f"admin:{info}_delete", args=[obj.pk])
            yield f"{label} delete", delete, {"post": "yes"}, perm.format("delete")
    for name, needs in CUSTOM_WRITES:
        url = reverse(name, args=[records[needs].pk]) if needs else reverse(name)
        yield name, url, {}, None


def trail_models_since(last_id: int) -> set[str]:
    return set(TrailEntry.objects.filter(pk__gt=last_id).values_list("model", flat=True))


def last_trail_id() -> int:
    return TrailEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def refused(client, response) -> bool:
    """Forbidden, sent to the login page or to a page it may not open, the form shown again with its
    errors, or an error message."""
    if response.status_code in (403, 404, 405) or (response.status_code == 302 and "/login/" in response.url):
        return True
    if response.status_code == 302 and client.get(response.url).status_code == 403:
        return True  # sent on to the page that does the work (consent "add" → "grant"), which refuses
    if response.status_code == 200:
        return True  # nothing was written and the page is shown again: its errors say why
    return any(message.level >= ERROR for message in get_messages(response.wsgi_request))


def forbidden(role: str, written: set[str]) -> set[str]:
    """The models ``role`` wrote that the role matrix says it never may."""
    if role == AUDITOR:
        return written
    if role == SUPPORT_AGENT:
        return {label for label in written if label.split(".")[0] in OFF_LIMITS_FOR_SUPPORT
                or label in OFF_LIMITS_FOR_SUPPORT}
    return set()


@pytest.mark.parametrize("role", ROLES)
def test_every_write_url_posted_by_every_role(role, every_record):
    root = Client()
    root.force_login(StaffFactory(username="walk-root", is_superuser=True))
    client = Client(raise_request_exception=False)  # a 500 is counted and reported, not raised
    user = StaffFactory(role=role)
    client.force_login(user)
    before = history_rows()
    figures = {"inputs tried": 0, "clean refusals": 0, "accepted": 0, "accepted, nothing to change": 0, "500s": 0,
               "wrongly accepted": 0}
    errors, wrongly, unclear = [], [], []
    for what, url, data, needs in posts(root, every_record):
        mark = last_trail_id()
        response = client.post(url, data)
        figures["inputs tried"] += 1
        written = trail_models_since(mark)
        if response.status_code >= 500:
            figures["500s"] += 1
            errors.append(f"{what}: {response.status_code}")
        elif written and needs and not user.has_perm(needs):
            figures["wrongly accepted"] += 1
            wrongly.append(f"{what}: wrote {sorted(written)} without {needs}")
        elif bad := forbidden(role, written):
            figures["wrongly accepted"] += 1
            wrongly.append(f"{what}: wrote {sorted(bad)}")
        elif written:
            figures["accepted"] += 1
        elif refused(client, response):
            figures["clean refusals"] += 1
        elif needs and not user.has_perm(needs):  # taken as a success, though nothing needed saving
            figures["wrongly accepted"] += 1
            wrongly.append(f"{what}: answered {response.status_code} as a success without {needs}")
        else:
            figures["accepted, nothing to change"] += 1
            unclear.append(f"{what}: {response.status_code} {getattr(response, 'url', '')}")
    print(f"\nPOST walk, {role}: {figures}; answered without a write or a refusal: {unclear}")
    assert errors == [], errors
    assert wrongly == [], wrongly
    if role == AUDITOR:
        assert history_rows() == before  # not one history row anywhere, whatever the trail says
        assert figures["accepted"] == 0
    if role == SUPPORT_AGENT:
        after = history_rows()
        touched = {name for name in after if after[name] != before[name]}
        assert forbidden(SUPPORT_AGENT, touched) == set(), touched
    assert figures["inputs tried"] >= 2 * len(registered()) + len(CUSTOM_WRITES)
    if role != COMPLIANCE_OFFICER:
        assert figures["clean refusals"] >= figures["inputs tried"] - 5  # support may write its few
