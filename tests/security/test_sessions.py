"""Idle sessions end after 30 minutes; activity keeps a session alive."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
SUBJECTS = reverse("admin:subjects_datasubject_changelist")


def stored_session(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_sessions_last_thirty_idle_minutes():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_an_expired_session_is_sent_to_the_login_page(client, support_agent):
    client.force_login(support_agent)
    assert client.get(SUBJECTS).status_code == 200
    # Thirty-one idle minutes later.
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(SUBJECTS)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={SUBJECTS}"


def test_each_request_starts_the_thirty_minutes_again(client, support_agent):
    client.force_login(support_agent)
    session = stored_session(client)
    session.expire_date = timezone.now() + timedelta(minutes=2)  # 28 minutes idle
    session.save()
    assert client.get(SUBJECTS).status_code == 200
    remaining = stored_session(client).expire_date - timezone.now()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
