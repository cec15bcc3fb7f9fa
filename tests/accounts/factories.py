import factory
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from shipex_privacy.accounts.models import User

TEST_PASSWORD = "shipex-test-password"


class StaffFactory(DjangoModelFactory):
    """A staff account; ``StaffFactory(role=SUPPORT_AGENT)`` puts it in that role's group."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Dilnoza"
    last_name = "Karimova"
    email = factory.LazyAttribute(lambda staff: f"{staff.username}@shipex.uz")
    is_staff = True
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
