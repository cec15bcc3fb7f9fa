from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "shipex_privacy.notifications"
    label = "notifications"
    verbose_name = _("Staff e-mail")

    def ready(self) -> None:
        from shipex_privacy.audit.tamper import verification_failed
        from shipex_privacy.protection.models import Incident

        from .signals import alert_on_failed_verification, alert_on_new_incident

        # Every way an incident is created (admin, import, demo) alerts the compliance officers, once
        # its creation has committed: protection/ knows nothing of e-mail.
        post_save.connect(alert_on_new_incident, sender=Incident, dispatch_uid="notifications.new_incident")
        # A failed verify_audit (the command or the scheduled job) alerts the auditors at once.
        verification_failed.connect(alert_on_failed_verification, dispatch_uid="notifications.verify_audit")
