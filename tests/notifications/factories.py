import factory

from shipex_privacy.notifications.models import NotificationPreference
from tests.history_factory import HistoryReasonFactory


class NotificationPreferenceFactory(HistoryReasonFactory):
    """A staff member's mail choices; everything on unless switched off (``measure_reviews_overdue=False``)."""

    class Meta:
        model = NotificationPreference

    user = factory.SubFactory("tests.accounts.factories.StaffFactory")
