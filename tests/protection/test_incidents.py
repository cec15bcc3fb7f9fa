"""The incident register: what happened, to which data and subjects, what was done, who was told.
Incidents are evidence: the database holds their dates in order, and nothing deletes them."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.protection.models import Incident, IncidentField, IncidentSubject
from tests.accounts.factories import StaffFactory
from tests.audit.page_forms import page_version
from tests.catalogue.factories import PersonalDataFieldFactory
from tests.protection.factories import IncidentFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    return client


def split(moment: datetime.datetime | None, prefix: str) -> dict:
    """A datetime as the admin's split date and time inputs post it."""
    if moment is None:
        return {}
    local = timezone.localtime(moment)
    return {f"{prefix}_0": local.date().isoformat(), f"{prefix}_1": local.strftime("%H:%M:%S")}


def inline_rows(prefix: str, name: str, values: list, initial: int = 0) -> dict:
    data = {f"{prefix}-TOTAL_FORMS": str(len(values)), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    for index, value in enumerate(values):
        data[f"{prefix}-{index}-{name}"] = value
    return data


def incident_form(*, occurred_at=None, found_at=None, closed_at=None, authority_notified_at=None,
                  subjects_notified_at=None, fields=(), subjects=(), **overrides) -> dict:
    occurred_at = occurred_at or timezone.now() - 26 * HOUR
    found_at = found_at or occurred_at + 2 * HOUR
    values = {
        "title": "Delivery list e-mailed to the wrong partner", "severity": "high",
        "description": "The Samarqand depot sent the day's delivery list to a courier partner it no longer uses.",
        "reported_by": "Malika Saidova, Samarqand depot manager", "subject_count": "",
        "actions_taken": "Partner asked to delete the e-mail and confirm in writing.", "status": "open",
        "notification_details": "", "change_reason": "",
        **split(occurred_at, "occurred_at"), **split(found_at, "found_at"), **split(closed_at, "closed_at"),
        **split(authority_notified_at, "authority_notified_at"), **split(subjects_notified_at, "subjects_notified_at"),
        **inline_rows("field_links", "field", [field.pk for field in fields]),
        **inline_rows("subject_links", "subject", [subject.pk for subject in subjects]),
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value != ""}


# --- the database holds the dates in order, on both databases -----------------------------------------

NOW = timezone.now()
FOUND = NOW - 24 * HOUR
CONSTRAINTS = [
    ("incident_found_after_occurred", {"occurred_at": FOUND + HOUR, "found_at": FOUND}),
    ("incident_closed_has_closed_at", {"status": "closed", "closed_at": None}),
    ("incident_closed_has_closed_at", {"status": "contained", "closed_at": FOUND + HOUR}),
    ("incident_closed_after_found", {"status": "closed", "closed_at": FOUND - HOUR}),
    ("incident_notified_after_found", {"authority_notified_at": FOUND - HOUR}),
    ("incident_notified_after_found", {"subjects_notified_at": FOUND - HOUR}),
]
CONSTRAINT_IDS = ["found-before-it-happened", "closed-without-closed-at", "closed-at-but-not-closed",
                  "closed-before-found", "authority-told-before-found", "subjects-told-before-found"]


@pytest.mark.parametrize(("name", "values"), CONSTRAINTS, ids=CONSTRAINT_IDS)
def test_the_database_refuses_an_incident_whose_dates_are_out_of_order(name, values):
    values = {"occurred_at": FOUND - 3 * HOUR, "found_at": FOUND, **values}
    with pytest.raises(IntegrityError, match=name), transaction.atomic():
        IncidentFactory(**values)
    assert not Incident.objects.exists()


FORM_CASES = [
    pytest.param({"occurred_at": FOUND + HOUR, "found_at": FOUND}, "An incident cannot be found before it happened",
                 id="found-before-it-happened"),
    pytest.param({"status": "closed"}, "A closed incident needs the time it was closed", id="closed-without-closed-at"),
    pytest.param({"status": "open", "closed_at": FOUND + HOUR}, "only a closed incident has one",
                 id="closed-at-but-open"),
    pytest.param({"status": "closed", "closed_at": FOUND - HOUR}, "An incident cannot be closed before it was found.",
                 id="closed-before-found"),
    pytest.param({"subjects_notified_at": FOUND - HOUR},
                 "Nobody can have been notified of an incident before it was found.", id="subjects-told-before-found"),
    pytest.param({"occurred_at": NOW + 48 * HOUR, "found_at": NOW + 49 * HOUR},
                 "When it happened cannot be in the future.", id="happened-in-the-future"),
    pytest.param({"authority_notified_at": NOW + 2 * HOUR}, "Authority notified at cannot be in the future.",
                 id="notified-in-the-future"),
]


@pytest.mark.parametrize(("values", "message"), FORM_CASES)
def test_the_form_refuses_dates_out_of_order_and_says_why(officer_client, values, message):
    values = {"occurred_at": FOUND - 3 * HOUR, "found_at": FOUND, **values}
    response = officer_client.post(reverse("admin:protection_incident_add"), incident_form(**values))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Incident.objects.exists()


# --- recording an incident, and its history ---------------------------------------------------------------


def test_an_incident_is_recorded_with_its_data_subjects_and_reason(officer_client, compliance_officer):
    phone, address = (PersonalDataField.objects.get(code=code) for code in ("contact.phone", "address.street"))
    subjects = DataSubjectFactory.create_batch(2)
    reason = "Reported by the Samarqand depot manager by phone"
    response = officer_client.post(reverse("admin:protection_incident_add"), incident_form(
        fields=[phone, address], subjects=subjects, subject_count="40", change_reason=reason,
    ))
    assert response.status_code == 302, response.context["adminform"].form.errors

    incident = Incident.objects.get()
    assert set(incident.fields.all()) == {phone, address}
    assert set(incident.subjects.all()) == set(subjects)
    assert incident.subject_count == 40
    created = incident.history.get()
    assert (created.history_type, created.history_change_reason, created.history_username) == (
        "+", reason, compliance_officer.username
    )
    links = [*IncidentField.history.all(), *IncidentSubject.history.all()]
    assert len(links) == 4
    assert {(row.history_change_reason, row.history_user_id) for row in links} == {(reason, compliance_officer.pk)}


def test_closing_an_incident_is_a_recorded_change(officer_client, compliance_officer):
    incident = IncidentFactory()
    url = reverse("admin:protection_incident_change", args=[incident.pk])
    closed_at = incident.found_at + 20 * HOUR
    reason = "Partner confirmed deletion in writing (letter 14/2026)"
    data = incident_form(occurred_at=incident.occurred_at, found_at=incident.found_at, status="closed",
                         closed_at=closed_at, title=incident.title, change_reason=reason,
                         **page_version(officer_client, incident))
    response = officer_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = incident.history.latest()
    assert (latest.status, latest.history_change_reason, latest.history_username) == (
        "closed", reason, compliance_officer.username
    )
    assert latest.prev_record.status == "open"


def test_a_subject_linked_by_mistake_is_unlinked_and_history_keeps_the_link(officer_client):
    right, wrong = DataSubjectFactory.create_batch(2)
    incident = IncidentFactory(subjects=[right, wrong])
    links = {link.subject_id: link.pk for link in incident.subject_links.all()}
    data = incident_form(occurred_at=incident.occurred_at, found_at=incident.found_at, title=incident.title,
                         change_reason="SX number mistyped: wrong subject linked",
                         **page_version(officer_client, incident))
    data.update(inline_rows("subject_links", "subject", [right.pk, wrong.pk], initial=2))
    data.update({"subject_links-0-id": links[right.pk], "subject_links-1-id": links[wrong.pk],
                 "subject_links-0-incident": incident.pk, "subject_links-1-incident": incident.pk,
                 "subject_links-1-DELETE": "on"})
    response = officer_client.post(reverse("admin:protection_incident_change", args=[incident.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(incident.subjects.all()) == [right]
    removed = IncidentSubject.history.filter(id=links[wrong.pk]).latest()
    assert (removed.history_type, removed.history_change_reason) == ("-", "SX number mistyped: wrong subject linked")


# --- never deleted --------------------------------------------------------------------------------------------


def test_an_incident_can_never_be_deleted(officer_client, client):
    incident = IncidentFactory()
    url = reverse("admin:protection_incident_delete", args=[incident.pk])
    assert officer_client.get(url).status_code == 403
    assert officer_client.post(url, {"post": "yes"}).status_code == 403
    changelist = officer_client.get(reverse("admin:protection_incident_changelist"))
    assert "delete_selected" not in changelist.content.decode()

    client.force_login(StaffFactory(username="root", is_superuser=True))
    assert client.post(url, {"post": "yes"}).status_code == 403

    with pytest.raises(ProtectedError):
        incident.delete()
    with pytest.raises(ProtectedError):
        Incident.objects.all().delete()
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_data_and_subjects_an_incident_names_cannot_be_deleted(officer_client):
    fax = PersonalDataFieldFactory(code="contact.fax")  # unbound and unused: deletable until an incident names it
    subject = DataSubjectFactory()
    IncidentFactory(fields=[fax], subjects=[subject])

    officer_client.post(reverse("admin:catalogue_personaldatafield_delete", args=[fax.pk]), {"post": "yes"})
    assert PersonalDataField.objects.filter(pk=fax.pk).exists()
    with pytest.raises(ProtectedError):
        fax.delete()
    with pytest.raises(ProtectedError):
        subject.delete()


# --- the list ------------------------------------------------------------------------------------------------


def test_the_list_shows_subjects_and_who_was_notified(officer_client):
    subjects = DataSubjectFactory.create_batch(2)
    told = IncidentFactory(title="Told everyone", subjects=subjects, subject_count=40,
                           authority_notified_at=timezone.now() - HOUR)
    IncidentFactory(title="Told nobody")
    url = reverse("admin:protection_incident_changelist")
    page = officer_client.get(url).content.decode()
    assert "2 named of 40" in page
    assert "nobody" in page

    response = officer_client.get(url, {"notified": "authority"})
    assert list(response.context["cl"].result_list) == [told]
    response = officer_client.get(url, {"notified": "nobody"})
    assert [incident.title for incident in response.context["cl"].result_list] == ["Told nobody"]


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_queries_do_not_grow_with_the_incidents_on_it(officer_client):
    url = reverse("admin:protection_incident_changelist")
    IncidentFactory(subjects=[DataSubjectFactory()])
    one = queries_for(officer_client, url)
    for _ in range(4):
        IncidentFactory(subjects=DataSubjectFactory.create_batch(2))
    assert queries_for(officer_client, url) == one


def test_the_change_page_reads_the_catalogue_once_however_many_data_rows(officer_client):
    codes = ["contact.phone", "contact.email", "address.street", "identity.full_name"]
    few = IncidentFactory(fields=[PersonalDataField.objects.get(code="contact.phone")])
    many = IncidentFactory(fields=list(PersonalDataField.objects.filter(code__in=codes)))
    assert queries_for(officer_client, reverse("admin:protection_incident_change", args=[many.pk])) == queries_for(
        officer_client, reverse("admin:protection_incident_change", args=[few.pk])
    )
