import pytest
from django.contrib.auth.models import Permission


@pytest.fixture
def grant():
    """``grant(user, "subjects.reveal_identifiers")``: what roles.py will give a role, given here."""

    def add(user, *dotted: str):
        for name in dotted:
            app_label, codename = name.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return user

    return add
