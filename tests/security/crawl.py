"""A walk over every page staff can open: each registered admin's list, add, record, history and
custom pages (found from the admin's own URL patterns, so a page added later is walked too), for
every object in the database, plus the exports and the public register."""

from dataclasses import dataclass, field
from datetime import date

from django.contrib import admin
from django.urls import NoReverseMatch, reverse

# Query strings that turn a page into an export or one of its views.
EXTRA_QUERIES = {
    "admin:disclosures_disclosure_ropa": ["", "format=csv", "format=csv&sheet=fields", "format=xlsx"],
    "admin:consents_policyversion_compare": ["other={other}"],
}
OBJECTS_PER_MODEL = 3
PUBLIC_PAGES = [("consents:cookie_register_html", {"language": language}) for language in ("uz", "ru", "en")]


@dataclass
class Page:
    url: str
    model_admin: object | None = None
    obj: object | None = None
    name: str = ""
    extras: list = field(default_factory=list)


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _history_ids(obj) -> list:
    history = getattr(type(obj), "history", None)
    if history is None or not hasattr(obj, "history"):
        return []
    ids = list(obj.history.order_by("history_id").values_list("history_id", flat=True))
    return sorted({ids[0], ids[-1]}) if ids else []  # the first version and the last


def admin_pages() -> list[Page]:
    pages = []
    for model, model_admin in registered():
        # The newest few of each model (the walk's own records are the newest), to keep the walk quick.
        objects = list(model._base_manager.order_by("-pk")[:OBJECTS_PER_MODEL])
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None)
            if not name:
                continue
            params = pattern.pattern.regex.groups  # path() and re_path() patterns alike
            full = f"admin:{name}"
            if not params:
                for query in EXTRA_QUERIES.get(full, [""]):
                    url = reverse(full)
                    pages.append(Page(f"{url}?{query}" if query else url, model_admin, None, name))
                continue
            for obj in objects:
                # Two parameters: a version of the record, one per history row the walk keeps.
                args_list = [[obj.pk]] if params == 1 else [[obj.pk, version] for version in _history_ids(obj)]
                for args in args_list:
                    try:
                        url = reverse(full, args=args)
                    except NoReverseMatch:
                        continue
                    for query in EXTRA_QUERIES.get(full, [""]):
                        if "{other}" in query:
                            others = [o.pk for o in objects if o.pk != obj.pk]
                            if not others:
                                continue
                            query = query.format(other=others[0])
                        pages.append(Page(f"{url}?{query}" if query else url, model_admin, obj, name))
    for name, kwargs in PUBLIC_PAGES:
        pages.append(Page(reverse(name, kwargs=kwargs), None, None, name))
    return pages


def world(*, officer, approver, agent):
    """A subject with a record behind every page: consents, cookie choices, acceptance, addresses,
    services, a verified access request, a sent disclosure with its notification rows, a legal hold,
    an incident, a measure, and a second policy version to compare with."""
    from shipex_privacy.audit.services import record_save
    from shipex_privacy.catalogue.models import PersonalDataField
    from shipex_privacy.rights_requests.services import request_verify_identity
    from tests.consents.factories import PolicyVersionFactory
    from tests.disclosures.test_workflow import sent
    from tests.protection.factories import (
        IncidentFactory,
        MeasureFactory,
        ProtectionLevelFactory,
        ResponsiblePersonFactory,
    )
    from tests.retention.factories import LegalHoldFactory
    from tests.rights_requests.factories import SubjectRequestFactory
    from tests.rights_requests.test_access_package import subject_with_everything

    subject = subject_with_everything(agent, phone="+998905556677", email="leak.victim@mail.uz",
                                      pinfl="31505900140019", passport="AB7654321", preferred_language="en")
    # A newer version in force, which the subject has not accepted, and a draft.
    PolicyVersionFactory(published=True, effective_date=date(2025, 6, 1))
    PolicyVersionFactory()
    sent(officer, approver, [subject], notify=True)
    LegalHoldFactory(subject=subject)
    IncidentFactory(subjects=[subject], fields=[PersonalDataField.objects.get(code="contact.phone")])
    MeasureFactory()
    ProtectionLevelFactory()
    ResponsiblePersonFactory()
    request = SubjectRequestFactory(subject=subject, requester_contact="+998 97 000 11 22")
    request.requester_contact = "leak.contact@inbox.uz"  # a change, so that history pages show a diff of it
    record_save(instance=request, actor=agent, reason="The requester wrote from another address")
    address = subject.addresses.get()
    address.street = "Amir Temur shoh koʻchasi, 108-uy"
    record_save(instance=address, actor=agent, reason="DSR: moved")
    subject.phone = "+998901112233"
    record_save(instance=subject, actor=agent, reason="DSR: new phone")
    request = request_verify_identity(request=request, method="sms_code", actor=agent)
    return subject, request


def build_access_package(request, actor):
    """The package as a committed build leaves it (the rights_requests tests' helper, where it exists)."""
    try:
        from tests.rights_requests.factories import build_package
    except ImportError:  # packages still written in place by the build itself
        from shipex_privacy.rights_requests.access_package import access_package_build

        return access_package_build(request=request, actor=actor)
    return build_package(request, actor)
