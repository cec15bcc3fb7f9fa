"""Access-package files: written under a temporary name, in place only once the row commits, removed
when the build fails, swept when orphaned, and readable by the back office's own account only."""

import os
import stat
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.rights_requests import access_package, package_files
from shipex_privacy.rights_requests.models import AccessPackage
from shipex_privacy.rights_requests.services import request_receive, request_verify_identity
from tests.accounts.factories import StaffFactory
from tests.rights_requests.factories import build_package
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "access-packages"  # the storage of tests/conftest.py


def files(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()) \
        if root.exists() else []


def verified_access_request(agent):
    request = request_receive(kind="access", channel="app", actor=agent, subject=DataSubjectFactory())
    return request_verify_identity(request=request, method="app_login", actor=agent)


class Killed(Exception):
    """Stands for whatever stops a build once the zip is on disk: a lost connection, a deploy, Ctrl-C."""


@pytest.mark.parametrize("interruption", [Killed, KeyboardInterrupt])
def test_a_build_killed_after_the_zip_is_written_leaves_no_file(support_agent, root, monkeypatch, interruption):
    request = verified_access_request(support_agent)
    written = []

    def killed(**kwargs):
        written.extend(files(root))  # the whole zip is on disk by now, under its temporary name
        raise interruption

    monkeypatch.setattr(access_package, "record_save", killed)
    with pytest.raises(interruption):
        build_package(request, support_agent)

    assert len(written) == 1 and written[0].endswith(".zip.part")
    assert files(root) == [] and not AccessPackage.objects.exists()


def test_a_rebuild_after_a_killed_build_leaves_exactly_one_file_the_rows(support_agent, root, monkeypatch):
    request = verified_access_request(support_agent)
    with monkeypatch.context() as patched:
        patched.setattr(access_package, "record_save", lambda **kwargs: (_ for _ in ()).throw(Killed()))
        with pytest.raises(Killed):
            build_package(request, support_agent)

    package = build_package(request, support_agent)

    assert files(root) == [package.file.name]
    assert package.file.name.endswith(".zip") and f"request-{request.pk}-" in package.file.name


def test_the_file_is_in_place_only_once_the_row_commits(support_agent, root, django_capture_on_commit_callbacks):
    request = verified_access_request(support_agent)
    with django_capture_on_commit_callbacks() as callbacks:
        package = access_package.access_package_build(request=request, actor=support_agent)
        # Not committed yet: nothing under the name the row gives, only the temporary file.
        assert files(root) == [f"{package.file.name}{package_files.PART}"]
    moves = [callback for callback in callbacks if getattr(callback, "func", None) is os.replace]
    assert len(moves) == 1
    moves[0]()
    assert files(root) == [package.file.name]


def test_a_rolled_back_build_leaves_only_a_temporary_file_that_the_sweep_removes_a_day_later(support_agent, root):
    request = verified_access_request(support_agent)
    with pytest.raises(Killed), transaction.atomic():  # the caller's transaction fails after the build
        access_package.access_package_build(request=request, actor=support_agent)
        raise Killed
    assert not AccessPackage.objects.exists()
    (temporary,) = files(root)
    assert temporary.endswith(package_files.PART)

    assert package_files.sweep_package_files().stale == []  # a build may still be running: kept for a day
    assert package_files.sweep_package_files(now=timezone.now() + timedelta(days=1, minutes=1)).stale == [temporary]
    assert files(root) == []


def test_package_files_are_0600_in_folders_of_0700(support_agent, root):
    root.mkdir(mode=0o755)  # as an older version left it
    root.chmod(0o755)
    package = build_package(verified_access_request(support_agent), support_agent)

    path = root / package.file.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (root, path.parent.parent, path.parent):  # access-packages/, the year, the month
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_the_sweep_removes_orphans_and_stale_temporary_files_and_keeps_live_ones(support_agent, root):
    live = build_package(verified_access_request(support_agent), support_agent)
    month = (root / live.file.name).parent
    orphan = month / "request-999-0123456789abcdef.zip"  # its row never committed, or was removed by hand
    orphan.write_bytes(b"PK full data of someone")
    stale, young = month / "request-998-aaaaaaaaaaaaaaaa.zip.part", month / "request-997-bbbbbbbbbbbbbbbb.zip.part"
    for temporary in (stale, young):
        temporary.write_bytes(b"PK half a zip")
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    os.utime(stale, (two_days_ago, two_days_ago))
    before = files(root)

    dry = package_files.sweep_package_files(dry_run=True)
    assert files(root) == before  # a dry run lists, removes nothing
    out = StringIO()
    call_command("sweep_package_files", stdout=out)

    relative = [path.relative_to(root).as_posix() for path in (orphan, stale, young)]
    assert (dry.orphans, dry.stale, dry.kept) == ([relative[0]], [relative[1]], 1)
    assert files(root) == sorted([live.file.name, relative[2]])
    assert "Removed 1 orphan files and 1 temporary files; 1 package files kept." in out.getvalue()
    assert live.file.storage.exists(live.file.name)


def test_the_sweep_of_an_empty_storage_finds_nothing(root):
    out = StringIO()
    call_command("sweep_package_files", "--dry-run", stdout=out)
    assert "Would remove 0 orphan files and 0 temporary files; 0 package files kept." in out.getvalue()


def test_a_package_whose_file_is_missing_is_said_not_a_500(client, support_agent, root):
    package = build_package(verified_access_request(support_agent), support_agent)
    (root / package.file.name).unlink()
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"

    response = client.get(reverse("admin:rights_requests_subjectrequest_package",
                                  args=[package.request_id, package.pk]), follow=True)

    assert response.status_code == 200
    assert "The file of this package is missing" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_when_the_row_really_commits_the_file_lands_under_its_name(catalogue, root):
    """Without any test help: a real commit runs the move (the other tests run it by hand)."""
    agent = StaffFactory(username="jasur")
    package = access_package.access_package_build(request=verified_access_request(agent), actor=agent)

    assert files(root) == [package.file.name]
    assert stat.S_IMODE((root / package.file.name).stat().st_mode) == 0o600
    with package.file.open("rb") as stored:
        assert stored.read(2) == b"PK"
