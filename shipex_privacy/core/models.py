from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class TranslatedName(models.Model):
    """A name kept in each interface language; ``name`` answers in the active one."""

    name_uz = models.CharField(_("name (Uzbek)"), max_length=200)
    name_ru = models.CharField(_("name (Russian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        language = (get_language() or "uz")[:2]
        return getattr(self, f"name_{language}", "") or self.name_uz

    name.fget.short_description = _("name")  # the admin's column header
