from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditedHistoryModel(models.Model):
    """Abstract base of every history table; the append-only guards cover all its subclasses."""

    APPEND_ONLY = True

    history_username = models.CharField(_("changed by"), max_length=150, blank=True, default="")
    history_ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        abstract = True
