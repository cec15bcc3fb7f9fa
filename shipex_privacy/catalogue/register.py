"""What the state register of personal-data databases asks about one database (ZRU-547 art. 20;
Cabinet of Ministers resolution no. 71 of 08.02.2020; read from law firms' public summaries, to be
confirmed by counsel): built from the catalogue and the register of protection measures, read only.
"""

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from .models import PersonalDataField, System

# Whose data each catalogue category is about. The catalogue knows kinds of data, not kinds of
# people; shipments also name the people they are sent to, who have no account.
SUBJECTS_OF = {
    PersonalDataField.Category.SHIPMENT: _("Recipients of shipments named by senders"),
}
ACCOUNT_HOLDERS = _("Users of ShipEx services (account holders and visitors)")


def notification(system: System) -> dict:
    """The register's items for ``system``: entries by category, purposes, subjects, locations, measures."""
    entries = list(system.fields.select_related("retention_rule").prefetch_related("purposes").order_by("category",
                                                                                                         "code"))
    categories: dict[str, list[PersonalDataField]] = {}
    for entry in entries:
        categories.setdefault(entry.get_category_display(), []).append(entry)
    purposes = sorted({purpose for entry in entries for purpose in entry.purposes.all()}, key=lambda p: p.clause)
    subjects = sorted({str(SUBJECTS_OF.get(entry.category, ACCOUNT_HOLDERS)) for entry in entries})
    locations = sorted({system.country, *(entry.storage_country for entry in entries)})
    Measure = apps.get_model("protection", "Measure")  # read only; protection depends on the catalogue
    measures = list(Measure.objects.filter(status=Measure.Status.IN_PLACE).order_by("kind", "title"))
    return {
        "categories": categories, "purposes": purposes, "subjects": subjects, "locations": locations,
        "measures": measures, "must_stay": [entry for entry in entries if entry.must_stay_in_uzbekistan],
    }
