"""This app's section of the access package: consents, the consent ledger, policy acceptances, cookie choices."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.rights_requests.package_sections import PackageSection, register_package_section
from shipex_privacy.rights_requests.package_writers import CHUNK_ROWS, choices, label, plural, purpose_json

from .models import Consent, ConsentEvent, CookieConsentEvent, PolicyAcceptance


def write_consents(writer) -> None:
    writer.section("consents", _("Consents and policy acceptances"))
    subject = writer.subject
    purposes = {purpose.pk: purpose for purpose in Purpose.objects.all()}
    channels = choices(Consent, "channel")

    def channel(code: str) -> dict:
        return {"channel": code, "channel_label": channels.get(code, code)}

    kinds, states = choices(Consent, "recipient_kind"), choices(Consent, "state")
    consents = (Consent.objects.filter(subject=subject).order_by("granted_at", "pk")
                .values_list("pk", "purpose_id", "recipient_kind", "state", "channel", "granted_at",
                             "expires_at", "withdrawn_at").iterator(chunk_size=CHUNK_ROWS))
    writer.listing("consents", plural(Consent), [
        label(Consent, name) for name in ("purpose", "recipient_kind", "state", "channel", "granted_at",
                                          "expires_at", "withdrawn_at")], (
        ({"id": pk, "purpose": purpose_json(purposes[purpose]), "recipient_kind": kind,
          "recipient_kind_label": kinds.get(kind, ""), "state": state, "state_label": states[state],
          **channel(via), "granted_at": writer.plain(granted), "expires_at": writer.plain(expires),
          "withdrawn_at": writer.plain(withdrawn)},
         (str(purposes[purpose]), kinds.get(kind) or "—", states[state], channels.get(via, via),
          writer.shown(granted), writer.shown(expires), writer.shown(withdrawn)))
        for pk, purpose, kind, state, via, granted, expires, withdrawn in consents))

    events = choices(ConsentEvent, "kind")
    ledger = (ConsentEvent.objects.filter(consent__subject=subject).order_by("occurred_at", "pk")
              .values_list("pk", "consent_id", "consent__purpose_id", "kind", "occurred_at", "channel",
                           "policy_version__version", "expires_at", "covered_data", "operator_name",
                           "allows_third_party_transfer", "allows_cross_border_transfer", "allows_publication",
                           "evidence_reference").iterator(chunk_size=CHUNK_ROWS))
    writer.listing("consent_events", plural(ConsentEvent), [
        label(ConsentEvent, "occurred_at"), label(Consent, "purpose"),
        *(label(ConsentEvent, name) for name in ("kind", "channel", "policy_version", "expires_at",
                                                 "covered_data", "evidence_reference"))], (
        ({"id": pk, "consent": consent, "purpose": purposes[purpose].clause, "kind": kind,
          "kind_label": events[kind], "occurred_at": writer.plain(occurred), **channel(via),
          "policy_version": version, "expires_at": writer.plain(expires), "covered_data": covered,
          "operator": operator, "allows_third_party_transfer": third_party,
          "allows_cross_border_transfer": cross_border, "allows_publication": publication,
          "evidence_reference": evidence},
         (writer.shown(occurred), str(purposes[purpose]), events[kind], channels.get(via, via), version or "—",
          writer.shown(expires), ", ".join(covered or []) or "—", evidence or "—"))
        for (pk, consent, purpose, kind, occurred, via, version, expires, covered, operator, third_party,
             cross_border, publication, evidence) in ledger))

    acceptances = (PolicyAcceptance.objects.filter(subject=subject).order_by("accepted_at", "pk")
                   .values_list("pk", "version__version", "version__effective_date", "accepted_at", "channel")
                   .iterator(chunk_size=CHUNK_ROWS))
    writer.listing("policy_acceptances", plural(PolicyAcceptance), [
        label(PolicyAcceptance, name) for name in ("version", "accepted_at", "channel")], (
        ({"id": pk, "policy_version": version, "in_force_from": writer.plain(effective),
          "accepted_at": writer.plain(accepted), **channel(via)},
         (f"{version} ({writer.shown(effective)})", writer.shown(accepted), channels.get(via, via)))
        for pk, version, effective, accepted, via in acceptances))

    categories, picked = choices(CookieConsentEvent, "category"), choices(CookieConsentEvent, "kind")
    cookies = (CookieConsentEvent.objects.filter(subject=subject).order_by("occurred_at", "pk")
               .values_list("pk", "category", "kind", "occurred_at", "channel").iterator(chunk_size=CHUNK_ROWS))
    writer.listing("cookie_choices", plural(CookieConsentEvent), [
        label(CookieConsentEvent, name) for name in ("occurred_at", "category", "kind", "channel")], (
        ({"id": pk, "category": category, "category_label": categories[category], "kind": kind,
          "kind_label": picked[kind], "occurred_at": writer.plain(occurred), **channel(via)},
         (writer.shown(occurred), categories[category], picked[kind], channels.get(via, via)))
        for pk, category, kind, occurred, via in cookies))
    writer.end_section()


register_package_section(PackageSection(
    key="consents", order=20, anchor="consents", title=gettext_lazy("Consents and policy acceptances"),
    write=write_consents))
