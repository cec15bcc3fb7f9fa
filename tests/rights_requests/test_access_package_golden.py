"""The access package's output, pinned: sections, their order, titles and rows (issue 12's refactor).

The package is written by sections each app contributes; this test holds what the subject receives
to the content written below, so moving code between apps cannot change it unnoticed.
"""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.consents.models import Consent
from shipex_privacy.consents.services import Evidence, consent_withdraw
from shipex_privacy.disclosures.services import disclosure_approve, disclosure_send, disclosure_submit
from tests.accounts.factories import StaffFactory
from tests.rights_requests.factories import build_package
from tests.rights_requests.test_access_package import access_request, contents, court_order, subject_with_everything
from tests.subjects.factories import AddressFactory

pytestmark = pytest.mark.django_db


class _Outline(HTMLParser):
    """Navigation, then per <section>: its id, its h2, its h3s and, per table, headers and row count."""

    def __init__(self):
        super().__init__()
        self.nav, self.sections, self._text, self._into = [], [], None, None
        self._in_nav = self._in_head = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav":
            self._in_nav = True
        elif tag == "a" and self._in_nav:
            self.nav.append([attrs["href"], ""])
            self._text, self._into = "", ("nav",)
        elif tag == "section":
            self.sections.append({"id": attrs["id"], "title": "", "headings": [], "tables": []})
        elif tag == "h2" and self.sections:
            self._text, self._into = "", ("title",)
        elif tag == "h3" and self.sections:
            self._text, self._into = "", ("heading", attrs.get("id"))
        elif tag == "table":
            self.sections[-1]["tables"].append({"headers": [], "rows": 0, "empty": False})
        elif tag == "thead":
            self._in_head = True
        elif tag == "th":
            self._text, self._into = "", ("header",)
        elif tag == "tr" and not self._in_head and self.sections and self.sections[-1]["tables"]:
            self.sections[-1]["tables"][-1]["rows"] += 1
        elif tag == "td" and attrs.get("class") == "none":
            self.sections[-1]["tables"][-1]["empty"] = True

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav = False
        elif tag == "thead":
            self._in_head = False
        if self._into is None or tag not in ("a", "h2", "h3", "th"):
            return
        text, into = " ".join(self._text.split()), self._into
        self._text = self._into = None
        if into[0] == "nav":
            self.nav[-1][1] = text
        elif into[0] == "title":
            self.sections[-1]["title"] = text
        elif into[0] == "heading":
            self.sections[-1]["headings"].append(into[1] or text)
        else:
            self.sections[-1]["tables"][-1]["headers"].append(text)

    def handle_data(self, data):
        if self._text is not None:
            self._text += data


def html_outline(page: str) -> dict:
    parser = _Outline()
    parser.feed(page)
    tables = {section["id"]: [(table["headers"], 0 if table["empty"] else table["rows"]) for table in section["tables"]]
              for section in parser.sections}
    return {"nav": [tuple(link) for link in parser.nav],
            "sections": [(section["id"], section["title"]) for section in parser.sections],
            "headings": {section["id"]: section["headings"] for section in parser.sections},
            "tables": tables}


def json_outline(data: dict) -> dict:
    listings = ("consents", "consent_events", "policy_acceptances", "cookie_choices", "disclosures")
    return {
        "keys": list(data),
        "held_data": {code: entry["count"] for code, entry in data["held_data"].items()},
        "held_data_keys": sorted({tuple(entry) for entry in data["held_data"].values()}),
        "listings": {key: (len(data[key]), sorted(data[key][0]) if data[key] else []) for key in listings},
        "automatic": {code: (entry["held_here"], entry.get("count")) for code, entry in
                      data["automatically_collected"].items()},
        "held_elsewhere": list(data["held_elsewhere"]),
        "held_elsewhere_keys": sorted({tuple(entry) for entry in data["held_elsewhere"].values()}),
        "record_count": data["record_count"],
    }


def rich_subject(agent, officer):
    """Every kind of data the package holds: two addresses, a withdrawn consent, a sent disclosure."""
    subject = subject_with_everything(agent, preferred_language="en")
    AddressFactory(subject=subject, landmark="Amir Temur xiyoboni", postal_code="100000")
    consent_withdraw(consent=Consent.objects.get(subject=subject), occurred_at=timezone.now() - timedelta(days=1),
                     evidence=Evidence(channel="app"), actor=agent)
    fields = list(PersonalDataField.objects.filter(code__in=["identity.full_name", "contact.phone"]))
    sent = court_order(officer, subject, fields)
    disclosure_submit(disclosure=sent, actor=officer)
    disclosure_approve(disclosure=sent, approver=StaffFactory(username="malika", role=COMPLIANCE_OFFICER))
    disclosure_send(disclosure=sent, actor=officer)
    return subject


EXPECTED_JSON = {'keys': ['format',
                          'operator',
                          'language',
                          'built_at',
                          'request',
                          'subject',
                          'held_data',
                          'consents',
                          'consent_events',
                          'policy_acceptances',
                          'cookie_choices',
                          'disclosures',
                          'automatically_collected',
                          'held_elsewhere',
                          'record_count'],
                 'held_data': {'account.account_id': 1,
                               'account.preferred_language': 1,
                               'account.registered_at': 1,
                               'account.service_started_on': 1,
                               'account.services_used': 1,
                               'disclosure.export_file': 0,
                               'request.access_package': 0,
                               'request.details': 2,
                               'request.internal_notes': 1,
                               'request.response_language': 1,
                               'request.response_text': 1,
                               'address.city': 2,
                               'address.landmark': 2,
                               'address.postal_code': 2,
                               'address.region': 2,
                               'address.street': 2,
                               'contact.email': 1,
                               'contact.phone': 1,
                               'request.requester_contact': 2,
                               'document.passport': 1,
                               'document.pinfl': 1,
                               'consent.document_name': 1,
                               'identity.birth_date': 1,
                               'identity.full_name': 1,
                               'request.requester_name': 2,
                               'consent.acceptance_ip': 1,
                               'consent.acceptance_user_agent': 1,
                               'consent.cookie_ip': 1,
                               'consent.cookie_user_agent': 1,
                               'consent.cookie_visitor_id': 1,
                               'consent.event_ip': 1,
                               'consent.event_user_agent': 1},
                 'held_data_keys': [('name',
                                     'category',
                                     'requirement',
                                     'collection_method',
                                     'purposes',
                                     'retention',
                                     'system',
                                     'storage_country',
                                     'binding',
                                     'model',
                                     'values',
                                     'count'),
                                    ('name',
                                     'category',
                                     'requirement',
                                     'collection_method',
                                     'purposes',
                                     'retention',
                                     'system',
                                     'storage_country',
                                     'binding',
                                     'model',
                                     'values',
                                     'count',
                                     'note')],
                 'listings': {'consents': (1,
                                           ['channel',
                                            'channel_label',
                                            'expires_at',
                                            'granted_at',
                                            'id',
                                            'purpose',
                                            'recipient_kind',
                                            'recipient_kind_label',
                                            'state',
                                            'state_label',
                                            'withdrawn_at']),
                              'consent_events': (2,
                                                 ['allows_cross_border_transfer',
                                                  'allows_publication',
                                                  'allows_third_party_transfer',
                                                  'channel',
                                                  'channel_label',
                                                  'consent',
                                                  'covered_data',
                                                  'evidence_reference',
                                                  'expires_at',
                                                  'id',
                                                  'kind',
                                                  'kind_label',
                                                  'occurred_at',
                                                  'operator',
                                                  'policy_version',
                                                  'purpose']),
                              'policy_acceptances': (1,
                                                     ['accepted_at',
                                                      'channel',
                                                      'channel_label',
                                                      'id',
                                                      'in_force_from',
                                                      'policy_version']),
                              'cookie_choices': (1,
                                                 ['category',
                                                  'category_label',
                                                  'channel',
                                                  'channel_label',
                                                  'id',
                                                  'kind',
                                                  'kind_label',
                                                  'occurred_at']),
                              'disclosures': (1, ['corrects', 'fields', 'ground', 'id', 'purpose', 'recipient',
                                                  'sent_at'])},
                 'automatic': {'account.registered_at': (True, 1),
                               'shipment.delivery_location': (False, None),
                               'consent.acceptance_ip': (True, 1),
                               'consent.acceptance_user_agent': (True, 1),
                               'consent.cookie_ip': (True, 1),
                               'consent.cookie_user_agent': (True, 1),
                               'consent.cookie_visitor_id': (True, 1),
                               'consent.event_ip': (True, 1),
                               'consent.event_user_agent': (True, 1),
                               'technical.accessed_at': (False, None),
                               'technical.browser': (False, None),
                               'technical.cookie_id': (False, None),
                               'technical.counter_data': (False, None),
                               'technical.device': (False, None),
                               'technical.ip_address': (False, None),
                               'technical.operating_system': (False, None),
                               'technical.pages': (False, None)},
                 'held_elsewhere': ['contact.call_records',
                                    'document.face_photo',
                                    'payment.card_masked',
                                    'payment.history',
                                    'shipment.contents',
                                    'shipment.customs_declaration',
                                    'shipment.delivery_address',
                                    'shipment.delivery_location',
                                    'shipment.recipient_name',
                                    'shipment.recipient_phone',
                                    'technical.accessed_at',
                                    'technical.browser',
                                    'technical.cookie_id',
                                    'technical.counter_data',
                                    'technical.device',
                                    'technical.ip_address',
                                    'technical.operating_system',
                                    'technical.pages'],
                 'held_elsewhere_keys': [('name',
                                          'category',
                                          'requirement',
                                          'collection_method',
                                          'purposes',
                                          'retention',
                                          'system',
                                          'storage_country',
                                          'binding')],
                 'record_count': 44}
EXPECTED_HTML = {'nav': [('#held-data', 'Personal data ShipEx holds about you'),
                         ('#consents', 'Consents and policy acceptances'),
                         ('#disclosures', 'Who received your data'),
                         ('#automatic', 'Data collected automatically'),
                         ('#elsewhere', 'Data held in other ShipEx systems')],
                 'sections': [('held-data', 'Personal data ShipEx holds about you'),
                              ('consents', 'Consents and policy acceptances'),
                              ('disclosures', 'Who received your data'),
                              ('automatic', 'Data collected automatically'),
                              ('elsewhere', 'Data held in other ShipEx systems')],
                 'headings': {'held-data': ['entry-account.account_id',
                                            'entry-account.preferred_language',
                                            'entry-account.registered_at',
                                            'entry-account.service_started_on',
                                            'entry-account.services_used',
                                            'entry-disclosure.export_file',
                                            'entry-request.access_package',
                                            'entry-request.details',
                                            'entry-request.internal_notes',
                                            'entry-request.response_language',
                                            'entry-request.response_text',
                                            'entry-address.city',
                                            'entry-address.landmark',
                                            'entry-address.postal_code',
                                            'entry-address.region',
                                            'entry-address.street',
                                            'entry-contact.email',
                                            'entry-contact.phone',
                                            'entry-request.requester_contact',
                                            'entry-document.passport',
                                            'entry-document.pinfl',
                                            'entry-consent.document_name',
                                            'entry-identity.birth_date',
                                            'entry-identity.full_name',
                                            'entry-request.requester_name',
                                            'entry-consent.acceptance_ip',
                                            'entry-consent.acceptance_user_agent',
                                            'entry-consent.cookie_ip',
                                            'entry-consent.cookie_user_agent',
                                            'entry-consent.cookie_visitor_id',
                                            'entry-consent.event_ip',
                                            'entry-consent.event_user_agent'],
                              'consents': ['Consents', 'Consent events', 'Policy acceptances', 'Cookie consent events'],
                              'disclosures': [],
                              'automatic': [],
                              'elsewhere': ['entry-contact.call_records',
                                            'entry-document.face_photo',
                                            'entry-payment.card_masked',
                                            'entry-payment.history',
                                            'entry-shipment.contents',
                                            'entry-shipment.customs_declaration',
                                            'entry-shipment.delivery_address',
                                            'entry-shipment.delivery_location',
                                            'entry-shipment.recipient_name',
                                            'entry-shipment.recipient_phone',
                                            'entry-technical.accessed_at',
                                            'entry-technical.browser',
                                            'entry-technical.cookie_id',
                                            'entry-technical.counter_data',
                                            'entry-technical.device',
                                            'entry-technical.ip_address',
                                            'entry-technical.operating_system',
                                            'entry-technical.pages']},
                 'tables': {'held-data': [(['Record', 'Value', 'Registered at'], 1),
                                          (['Record', 'Value', 'Registered at'], 1),
                                          (['Record', 'Value', 'Registered at'], 1),
                                          (['Record', 'Value', 'Uses it since'], 1),
                                          (['Record', 'Value', 'Uses it since'], 1),
                                          (['Record', 'Value', 'Date'], 0),
                                          (['Record', 'Value', 'Date'], 0),
                                          (['Record', 'Value', 'Received at'], 2),
                                          (['Record', 'Value', 'Received at'], 1),
                                          (['Record', 'Value', 'Received at'], 1),
                                          (['Record', 'Value', 'Received at'], 1),
                                          (['Record', 'Value', 'Added at'], 2),
                                          (['Record', 'Value', 'Added at'], 2),
                                          (['Record', 'Value', 'Added at'], 2),
                                          (['Record', 'Value', 'Added at'], 2),
                                          (['Record', 'Value', 'Added at'], 2),
                                          (['Record', 'Value', 'Registered at'], 1),
                                          (['Record', 'Value', 'Registered at'], 1),
                                          (['Record', 'Value', 'Received at'], 2),
                                          (['Record', 'Value', 'Registered at'], 1),
                                          (['Record', 'Value', 'Registered at'], 1),
                                          (['Record', 'Value', 'When the subject did it'], 1),
                                          (['Record', 'Value', 'Registered at'], 1),
                                          (['Record', 'Value', 'Registered at'], 1),
                                          (['Record', 'Value', 'Received at'], 2),
                                          (['Record', 'Value', 'Accepted at'], 1),
                                          (['Record', 'Value', 'Accepted at'], 1),
                                          (['Record', 'Value', 'When the choice was made'], 1),
                                          (['Record', 'Value', 'When the choice was made'], 1),
                                          (['Record', 'Value', 'When the choice was made'], 1),
                                          (['Record', 'Value', 'When the subject did it'], 1),
                                          (['Record', 'Value', 'When the subject did it'], 1)],
                            'consents': [(['Purpose',
                                           'Recipient kind',
                                           'State',
                                           'Channel',
                                           'Granted at',
                                           'In force until',
                                           'Withdrawn at'],
                                          1),
                                         (['When the subject did it',
                                           'Purpose',
                                           'Event',
                                           'Channel',
                                           'Policy version',
                                           'In force until',
                                           'Data covered (catalogue codes)',
                                           'Evidence'],
                                          2),
                                         (['Policy version', 'Accepted at', 'Channel'], 1),
                                         (['When the choice was made', 'Category', 'Choice', 'Channel'], 1)],
                            'disclosures': [(['Sent at', 'Recipient', 'Fields disclosed', 'Ground', 'Purpose'], 1)],
                            'automatic': [(['Name', 'Records', 'First', 'Last', 'Held in system'], 17)],
                            'elsewhere': []}}


def test_the_package_of_a_rich_subject_is_what_it_was(support_agent, compliance_officer):
    subject = rich_subject(support_agent, compliance_officer)
    request = access_request(support_agent, subject)

    data, page, _names = contents(build_package(request, support_agent))

    assert json_outline(data) == EXPECTED_JSON
    assert html_outline(page) == EXPECTED_HTML
