"""The access package is written from sections the apps register (issue 12)."""

import ast
import pathlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.consents.services import Evidence, cookie_consent_record
from shipex_privacy.disclosures.services import disclosure_approve, disclosure_send, disclosure_submit
from shipex_privacy.rights_requests import package_sections
from shipex_privacy.rights_requests.package_sections import PackageSection, register_package_section
from tests.accounts.factories import StaffFactory
from tests.rights_requests.factories import build_package
from tests.rights_requests.test_access_package import access_request, contents, court_order, subject_with_everything
from tests.rights_requests.test_access_package_golden import html_outline, rich_subject
from tests.subjects.factories import AddressFactory

pytestmark = pytest.mark.django_db

PACKAGE_MODULES = ("access_package.py", "package_writers.py", "package_sections.py", "package_catalogue.py")


def test_the_requests_app_writes_the_package_without_importing_consents_or_disclosures():
    folder = pathlib.Path(package_sections.__file__).parent
    for name in PACKAGE_MODULES:
        tree = ast.parse((folder / name).read_text())
        imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module] + [
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        assert not [module for module in imported if module.startswith(
            ("shipex_privacy.consents", "shipex_privacy.disclosures", "shipex_privacy.integrations"))], name


def test_every_app_contributes_its_section_in_order():
    assert [section.key for section in package_sections.package_sections()] == [
        "catalogue.held_data", "consents", "disclosures", "catalogue.automatic", "integrations.system_parts",
        "catalogue.held_elsewhere"]


def test_a_registered_section_is_written_in_its_place_with_its_json_and_html(support_agent, monkeypatch):
    monkeypatch.setattr(package_sections, "_sections", dict(package_sections._sections))

    def write(writer):
        writer.section("parcel-lockers", "Parcel lockers <used>")
        writer.listing("parcel_lockers", "", ["Locker"], iter([({"locker": "TAS-17"}, ("TAS-17",))]))
        writer.end_section()

    register_package_section(PackageSection(key="lockers", order=35, anchor="parcel-lockers",
                                            title="Parcel lockers <used>", write=write))
    request = access_request(support_agent, subject_with_everything(support_agent, preferred_language="en"))

    package = build_package(request, support_agent)
    data, page, _names = contents(package)

    keys = list(data)
    assert keys.index("disclosures") < keys.index("parcel_lockers") < keys.index("automatically_collected")
    assert data["parcel_lockers"] == [{"locker": "TAS-17"}]
    outline = html_outline(page)
    assert ("#parcel-lockers", "Parcel lockers <used>") in outline["nav"]
    assert [anchor for anchor, _title in outline["sections"]].index("parcel-lockers") == 3
    assert outline["tables"]["parcel-lockers"] == [(["Locker"], 1)]
    assert "Parcel lockers &lt;used&gt;" in page
    assert data["record_count"] == package.record_count  # its row counted with the others


def more_of_everything(agent, officer, subject):
    for number in range(4):
        AddressFactory(subject=subject, landmark=f"Mo'ljal {number}")
        cookie_consent_record(category="analytics", kind="grant" if number % 2 else "withdraw",
                              occurred_at=timezone.now() - timedelta(hours=number + 1), subject=subject,
                              visitor_id=f"v-{number}", evidence=Evidence(channel="web"))
    fields = list(PersonalDataField.objects.filter(code__in=["identity.full_name", "contact.phone"]))
    for number in range(3):
        sent = court_order(officer, subject, fields)
        disclosure_submit(disclosure=sent, actor=officer)
        disclosure_approve(disclosure=sent, approver=StaffFactory(username=f"malika{number}", role=COMPLIANCE_OFFICER))
        disclosure_send(disclosure=sent, actor=officer)


def test_the_build_runs_as_many_queries_for_many_rows_as_for_one(support_agent, compliance_officer,
                                                                django_assert_max_num_queries):
    few = access_request(support_agent, rich_subject(support_agent, compliance_officer))
    many_subject = rich_subject(support_agent, compliance_officer)
    more_of_everything(support_agent, compliance_officer, many_subject)
    many = access_request(support_agent, many_subject)
    build_package(few, support_agent)  # warm: content types and the like read once per process

    with CaptureQueriesContext(connection) as one_each:
        small = build_package(few, support_agent)
    with django_assert_max_num_queries(len(one_each.captured_queries)):
        large = build_package(many, support_agent)

    assert large.record_count > small.record_count + 10  # the rows did go in
