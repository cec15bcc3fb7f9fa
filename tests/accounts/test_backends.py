"""The model backend reads a staff member's permissions, their own and their roles', in one query."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from shipex_privacy.accounts.backends import ModelBackendOneQuery
from shipex_privacy.accounts.roles import AUDITOR, SUPPORT_AGENT
from tests.accounts.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_the_permissions_are_djangos_own_and_their_groups_read_in_one_query(django_assert_num_queries):
    staff = StaffFactory(role=SUPPORT_AGENT)
    staff.groups.add(*StaffFactory(username="second_role", role=AUDITOR).groups.all())
    staff.user_permissions.add(Permission.objects.get(codename="reveal_identifiers"))
    expected = ModelBackend().get_all_permissions(type(staff).objects.get(pk=staff.pk))
    assert "subjects.reveal_identifiers" in expected and len(expected) > 1

    fresh = type(staff).objects.get(pk=staff.pk)
    with django_assert_num_queries(1):
        assert ModelBackendOneQuery().get_all_permissions(fresh) == expected
        assert ModelBackendOneQuery().get_all_permissions(fresh) == expected  # cached on the user, as Django does


def test_an_inactive_or_superuser_account_is_answered_as_django_does():
    staff = StaffFactory(role=SUPPORT_AGENT, is_active=False)
    assert ModelBackendOneQuery().get_all_permissions(staff) == set()
    root = StaffFactory(username="root", is_superuser=True)
    assert ModelBackendOneQuery().get_all_permissions(root) == ModelBackend().get_all_permissions(root)
