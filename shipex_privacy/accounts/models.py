from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A ShipEx staff member. Data subjects are not users of the back office."""

    # The language of the staff member's e-mail (notifications/), chosen on their "My e-mail" page.
    # The admin's own pages follow the language switch in the header (a cookie), as before.
    language = models.CharField(_("language of e-mail"), max_length=2, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)

    class Meta(AbstractUser.Meta):
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
