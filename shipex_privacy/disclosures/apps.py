from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisclosuresConfig(AppConfig):
    name = "shipex_privacy.disclosures"
    label = "disclosures"
    verbose_name = _("Recipients and disclosures")

    def ready(self) -> None:
        from shipex_privacy.retention.erasing import register_not_held

        register_not_held("disclosures.DisclosedSubject", reason=(
            "Names which subject a disclosure covered and the notification sent; the data disclosed is the "
            "subject's own records, and the disclosure is the evidence of it (1.4.3), kept with it."))
        register_not_held("disclosures.PublicChoice", reason=(
            "Records that the subject made a field public (1.4.2): a field and a date, no value of theirs."))
        from shipex_privacy.catalogue.models import RetentionRule
        from shipex_privacy.retention.erasing import Clock, HeldModel, register_held_model
        from shipex_privacy.rights_requests.package_files import register_private_files

        from .models import DisclosureExport

        # A disclosure's export file counts from the day it was built; it names many subjects, so no
        # single subject's legal hold or erasure reaches it: its catalogue rule alone ends it. The row
        # (SHA-256, count) stays, and the frozen disclosure keeps the manifest.
        register_held_model(HeldModel("disclosures.DisclosureExport", None,
                                      clocks={RetentionRule.ClockStart.COLLECTED: Clock("built_at")}))
        register_private_files(DisclosureExport)  # the daily sweep removes files no export row names
        from . import (
            home,  # noqa: F401  (registers this app's lines on the role homes, core/home.py)
            package,  # noqa: F401  (its section of the access package: who received the data)
            panels,  # noqa: F401  (adds "who received my data" to the subject page)
        )
