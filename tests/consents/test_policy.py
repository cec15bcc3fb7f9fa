"""Policy versions: published ones are frozen in the database; acceptances are recorded (1.1)."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.consents.models import PolicyAcceptance, PolicyVersion
from shipex_privacy.consents.services import policy_accept, policy_publish
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def test_publishing_records_who_and_freezes_the_texts(compliance_officer):
    version = PolicyVersionFactory()
    policy_publish(version=version, actor=compliance_officer)
    version.refresh_from_db()
    assert version.is_published and version.content_hash == version.compute_hash()
    assert version.history.latest().history_username == compliance_officer.username

    version.text_uz = "Boshqa matn"
    with pytest.raises(DatabaseError, match="frozen"), transaction.atomic():
        version.save()
    version.refresh_from_db()
    assert version.text_uz.startswith("1.1 Xizmatdan")


@pytest.mark.parametrize("column", ["text_uz", "text_ru", "version", "published_at"])
def test_raw_sql_cannot_rewrite_a_published_version(column):
    version = PolicyVersionFactory(published=True)
    value = "NULL" if column == "published_at" else "'rewritten'"
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE consents_policyversion SET {column} = {value} WHERE id = %s", [version.pk])
    assert PolicyVersion.objects.get(pk=version.pk).compute_hash() == version.content_hash


def test_a_draft_can_still_be_edited_with_raw_sql_or_the_orm():
    version = PolicyVersionFactory()
    version.text_en = "Draft, second reading"
    version.save()
    assert PolicyVersion.objects.get(pk=version.pk).text_en == "Draft, second reading"


def test_publishing_twice_or_without_a_language_is_refused(compliance_officer):
    version = PolicyVersionFactory(text_ru="  ")
    with pytest.raises(ValidationError, match="no text in: ru"):
        policy_publish(version=version, actor=compliance_officer)
    assert not PolicyVersion.objects.get(pk=version.pk).is_published
    published = PolicyVersionFactory(published=True)
    with pytest.raises(ValidationError, match="already published"):
        policy_publish(version=published, actor=compliance_officer)


def test_officer_publishes_from_the_admin_and_can_no_longer_edit(client, compliance_officer):
    version = PolicyVersionFactory()
    client.force_login(compliance_officer)
    assert client.get(reverse("admin:consents_policyversion_publish", args=[version.pk])).status_code == 200
    client.post(reverse("admin:consents_policyversion_publish", args=[version.pk]))
    version.refresh_from_db()
    assert version.is_published
    page = client.get(reverse("admin:consents_policyversion_change", args=[version.pk]))
    assert page.context["has_change_permission"] is False
    delete = reverse("admin:consents_policyversion_delete", args=[version.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403


def test_support_agents_cannot_publish(client, support_agent):
    version = PolicyVersionFactory()
    client.force_login(support_agent)
    assert client.post(reverse("admin:consents_policyversion_publish", args=[version.pk])).status_code == 403
    assert not PolicyVersion.objects.get(pk=version.pk).is_published


def test_the_admin_shows_the_differences_between_two_versions(client, auditor):
    old = PolicyVersionFactory(published=True, effective_date=date(2025, 1, 1))
    new = PolicyVersionFactory(published=True, effective_date=date(2026, 6, 1),
                               text_en=old.text_en + "\n1.6.4 The Services use counters.")
    client.force_login(auditor)
    response = client.get(reverse("admin:consents_policyversion_compare", args=[new.pk]), {"other": old.pk})
    english = next(diff for diff in response.context["diffs"] if diff["language"] == "English")
    assert ("+", "1.6.4 The Services use counters.") in english["rows"]
    assert not next(diff for diff in response.context["diffs"] if diff["language"] == "Oʻzbekcha")["changed"]
    assert "1.6.4 The Services use counters." in response.content.decode()


def test_acceptance_needs_a_published_version_in_force(support_agent):
    subject = DataSubjectFactory()
    draft = PolicyVersionFactory()
    with pytest.raises(ValidationError, match="not published"):
        policy_accept(subject=subject, version=draft, accepted_at=timezone.now(), channel="app", actor=support_agent)
    future = PolicyVersionFactory(published=True, effective_date=timezone.localdate() + timedelta(days=10))
    with pytest.raises(ValidationError, match="not yet in force"):
        policy_accept(subject=subject, version=future, accepted_at=timezone.now(), channel="app", actor=support_agent)
    assert not PolicyAcceptance.objects.exists()


def test_list_of_subjects_who_have_not_accepted_the_current_version(client, compliance_officer):
    old = PolicyVersionFactory(published=True, effective_date=date(2025, 1, 1))
    current = PolicyVersionFactory(published=True, effective_date=date(2026, 1, 1))
    up_to_date, behind, never = DataSubjectFactory.create_batch(3)
    moment = timezone.now() - timedelta(days=1)
    policy_accept(subject=up_to_date, version=current, accepted_at=moment, channel="app", actor=None)
    policy_accept(subject=behind, version=old, accepted_at=moment, channel="web", actor=None)
    client.force_login(compliance_officer)
    response = client.get(reverse("admin:consents_subjectwithoutcurrentpolicy_changelist"))
    listed = {subject.pk: subject.last_version for subject in response.context["cl"].result_list}
    assert listed == {behind.pk: old.version, never.pk: None}
    assert PolicyVersion.objects.in_force() == current


def test_subject_page_shows_the_version_in_force_for_the_subject(client, support_agent):
    version = PolicyVersionFactory(published=True)
    subject = DataSubjectFactory()
    policy_accept(subject=subject, version=version, accepted_at=timezone.now(), channel="office", actor=None)
    client.force_login(support_agent)
    panels = client.get(reverse("admin:subjects_datasubject_change", args=[subject.pk])).context["subject_panels"]
    panel = next(panel for panel in panels if "last_accepted" in panel)  # the consents panel, among the others
    assert panel["last_accepted"].version == version == panel["version_in_force"]
    assert "has not accepted" not in client.get(
        reverse("admin:subjects_datasubject_change", args=[subject.pk])).content.decode()


def test_subject_page_warns_when_the_version_in_force_was_not_accepted(client, support_agent):
    old = PolicyVersionFactory(published=True, effective_date=date(2025, 1, 1))
    PolicyVersionFactory(published=True, effective_date=date(2026, 1, 1), version="2026.1")
    subject = DataSubjectFactory()
    policy_accept(subject=subject, version=old, accepted_at=timezone.now(), channel="app", actor=None)
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("admin:subjects_datasubject_change", args=[subject.pk])).content.decode()
    assert "The subject has not accepted version 2026.1, which is in force now." in page
