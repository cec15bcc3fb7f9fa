"""Processing activities (issue 13): seeded from the policy, kept by the compliance team, with history."""

import pytest
from django.urls import reverse

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, ROLE_PERMISSIONS, SUPPORT_AGENT
from shipex_privacy.catalogue.models import PersonalDataField, ProcessingActivity, Purpose
from tests.audit.page_forms import page_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    return client


def activity_form(activity: ProcessingActivity, **overrides) -> dict:
    values = {
        "code": activity.code, "name_uz": activity.name_uz, "name_ru": activity.name_ru,
        "name_en": activity.name_en, "description": activity.description,
        "purposes": [purpose.pk for purpose in activity.purposes.all()],
        "subject_categories": list(activity.subject_categories),
        "fields": [field.pk for field in activity.fields.all()],
    }
    values.update(overrides)
    return values


def test_the_seed_holds_shipex_activities_each_using_data_for_its_own_purposes():
    activities = {activity.code: activity for activity in ProcessingActivity.objects.prefetch_related(
        "purposes", "fields__purposes")}
    assert {"account", "delivery", "customs", "payments", "support", "service-operation", "improvement",
            "marketing", "analytics"} <= set(activities)
    for activity in activities.values():
        assert activity.name_uz and activity.name_ru and activity.name_en, activity.code
        assert activity.description_uz and activity.description_ru, activity.code
        assert activity.subject_categories and activity.fields.all(), activity.code
        assert ProcessingActivity.data_outside_purposes(activity.purposes.all(), activity.fields.all()) == []
        # its history starts with the seed; later seeds (the uz/ru descriptions, catalogue 0012) are changes
        history = list(activity.history.order_by("history_id"))
        assert [row.history_type for row in history[:2]] == ["+", "~"], activity.code
        assert {row.history_type for row in history[1:]} == {"~"} and history[-1].description_uz
    assert [p.clause for p in activities["marketing"].purposes.all()] == ["1.3.2.5"]
    assert "payment.history" in {field.code for field in activities["payments"].fields.all()}
    assert activities["delivery"].subject_categories_display.endswith("Recipients of shipments")
    with_history = ProcessingActivity.history.filter(code="customs").latest("history_id")
    assert {row.personaldatafield_id for row in with_history.fields.all()} == {
        field.pk for field in activities["customs"].fields.all()}


def test_every_catalogue_entry_with_a_purpose_belongs_to_some_activity():
    unused = PersonalDataField.objects.exclude(purposes=None).filter(activities=None)
    assert list(unused.values_list("code", flat=True)) == []


def test_an_officer_adds_an_activity_and_its_history_names_the_data(officer_client, compliance_officer):
    response = officer_client.post(reverse("admin:catalogue_processingactivity_add"), {
        "code": "loyalty", "name_uz": "Sodiqlik dasturi", "name_ru": "Программа лояльности",
        "name_en": "Loyalty programme", "description": "Points for shipments",
        "purposes": [Purpose.objects.get(clause="1.3.2.5").pk], "subject_categories": ["customers"],
        "fields": [PersonalDataField.objects.get(code="contact.email").pk],
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    activity = ProcessingActivity.objects.get(code="loyalty")
    latest = activity.history.latest()
    assert latest.history_username == compliance_officer.username
    assert [row.personaldatafield.code for row in latest.fields.all()] == ["contact.email"]


def test_data_that_serves_none_of_the_purposes_is_refused_and_nothing_changes(officer_client):
    activity = ProcessingActivity.objects.get(code="marketing")
    phone = PersonalDataField.objects.get(code="contact.phone")  # not for advertising in the catalogue
    before = activity.history.count()
    url = reverse("admin:catalogue_processingactivity_change", args=[activity.pk])
    response = officer_client.post(url, activity_form(
        activity, fields=[*(f.pk for f in activity.fields.all()), phone.pk], change_reason="Add SMS ads",
        **page_version(officer_client, activity)))
    assert response.status_code == 200
    assert "serve none of the activity&#x27;s purposes: contact.phone" in response.content.decode()
    assert phone not in activity.fields.all() and activity.history.count() == before


def test_no_category_of_subjects_is_refused(officer_client):
    activity = ProcessingActivity.objects.get(code="analytics")
    url = reverse("admin:catalogue_processingactivity_change", args=[activity.pk])
    response = officer_client.post(url, activity_form(activity, subject_categories=[], change_reason="x",
                                                      **page_version(officer_client, activity)))
    assert response.status_code == 200 and "subject_categories" in response.context["adminform"].form.errors


def test_the_compliance_team_keeps_activities_auditors_read_them_support_agents_do_not_see_them():
    assert "catalogue.change_processingactivity" in ROLE_PERMISSIONS[COMPLIANCE_OFFICER]
    assert "catalogue.view_historicalprocessingactivity" in ROLE_PERMISSIONS[AUDITOR]
    assert "catalogue.change_processingactivity" not in ROLE_PERMISSIONS[AUDITOR]
    assert not any("processingactivity" in permission for permission in ROLE_PERMISSIONS[SUPPORT_AGENT])


def test_the_changelist_costs_the_same_queries_however_many_activities(officer_client,
                                                                       django_assert_max_num_queries):
    url = reverse("admin:catalogue_processingactivity_changelist")
    officer_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert officer_client.get(url).status_code == 200
    for index in range(5):
        extra = ProcessingActivity.objects.create(code=f"extra-{index}", name_uz="x", name_ru="x", name_en="x",
                                                  subject_categories=["customers"])
        extra.purposes.set(Purpose.objects.all())
    with django_assert_max_num_queries(len(few)):
        assert "extra-4" in officer_client.get(url).content.decode()
