"""This app's section of the access package: the disclosures sent to third parties ("who received my data")."""

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shipex_privacy.rights_requests.package_sections import PackageSection, register_package_section
from shipex_privacy.rights_requests.package_writers import CHUNK_ROWS, label, purpose_json

from .models import Disclosure


def write_disclosures(writer) -> None:
    writer.section("disclosures", _("Who received your data"), _(
        "Each time ShipEx gave your personal data to a third party: who received it, which data, when, "
        "and on which ground of the privacy policy."))
    sent = (Disclosure.objects.filter(status=Disclosure.Status.SENT, sent_at__isnull=False,
                                      disclosed_subjects__subject=writer.subject)
            .select_related("recipient", "purpose").prefetch_related("fields").order_by("sent_at", "pk"))

    def rows():
        for disclosure in sent.iterator(chunk_size=CHUNK_ROWS):
            recipient = disclosure.recipient
            fields = sorted(disclosure.fields.all(), key=lambda field: field.code)
            yield {
                "id": disclosure.pk, "sent_at": writer.plain(disclosure.sent_at),
                "recipient": {"legal_name": recipient.legal_name, "tin": recipient.tin,
                              "country": recipient.country, "kind": recipient.get_kind_display()},
                "fields": {field.code: field.name for field in fields},
                "ground": {"clause": disclosure.ground, "label": disclosure.get_ground_display()},
                "purpose": purpose_json(disclosure.purpose), "corrects": disclosure.corrects_id,
            }, (
                writer.shown(disclosure.sent_at), f"{recipient.legal_name} ({recipient.country})",
                format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((field.name,) for field in fields))),
                disclosure.get_ground_display(), str(disclosure.purpose),
            )

    writer.listing("disclosures", "", [
        label(Disclosure, name) for name in ("sent_at", "recipient", "fields", "ground", "purpose")], rows())
    writer.end_section()


register_package_section(PackageSection(
    key="disclosures", order=30, anchor="disclosures", title=gettext_lazy("Who received your data"),
    write=write_disclosures))
