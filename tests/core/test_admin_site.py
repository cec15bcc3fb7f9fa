"""The admin site's pages: the sidebar's app list is built only for a page that shows it, and then from
the staff member's permissions as they are now."""

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Group
from django.urls import reverse

from shipex_privacy.accounts.roles import SUPPORT_AGENT

pytestmark = pytest.mark.django_db
QUEUE = reverse("admin:rights_requests_subjectrequest_changelist")


@pytest.fixture
def builds(monkeypatch):
    """How many times a page built the app list (each registered admin's permissions and URLs)."""
    calls = []
    build = AdminSite._build_app_dict

    def counted(self, request, label=None):
        calls.append(label)
        return build(self, request, label)

    monkeypatch.setattr(AdminSite, "_build_app_dict", counted)
    return calls


def test_a_page_without_the_sidebar_does_not_build_its_app_list(client, support_agent, builds):
    client.force_login(support_agent)
    response = client.get(QUEUE)
    assert response.status_code == 200 and not admin.site.enable_nav_sidebar
    assert builds == []
    # Read, it is the list the index shows this staff member.
    index = client.get(reverse("admin:index")).context["app_list"]
    assert [app["app_label"] for app in response.context["available_apps"]] == [app["app_label"] for app in index]


def test_the_sidebar_shows_the_apps_of_the_permissions_held_now(client, support_agent, builds):
    # Set and put back by hand: monkeypatch on the lazy admin.site deletes the attribute on undo,
    # which turns the sidebar on (Django's default) for the tests after this one.
    was = admin.site.enable_nav_sidebar
    admin.site.enable_nav_sidebar = True
    try:
        client.force_login(support_agent)
        changelist = reverse("admin:subjects_datasubject_changelist")
        sidebar_link = f'href="{reverse("admin:app_list", args=["rights_requests"])}"'
        response = client.get(changelist)
        assert 'id="nav-sidebar"' in response.content.decode() and builds
        assert sidebar_link in response.content.decode()

        Group.objects.get(name=SUPPORT_AGENT).permissions.remove(
            *Group.objects.get(name=SUPPORT_AGENT).permissions.filter(content_type__app_label="rights_requests"))
        assert sidebar_link not in client.get(changelist).content.decode()
    finally:
        admin.site.enable_nav_sidebar = was


def test_a_list_page_builds_no_history_manager(client, support_agent, monkeypatch):
    # Django wraps each admin view on every request (admin_view); the id check reads the history model
    # only for views that take a version id: each read of ``Model.history`` builds a manager class.
    from simple_history.manager import HistoryDescriptor

    reads = []
    read = HistoryDescriptor.__get__
    monkeypatch.setattr(HistoryDescriptor, "__get__", lambda self, instance, owner: reads.append(owner)
                        or read(self, instance, owner))
    client.force_login(support_agent)
    for page in (QUEUE, reverse("admin:subjects_datasubject_changelist")):
        assert client.get(page).status_code == 200
    assert reads == []
