"""The README's "Try it" lines work: each curl line, on the demo data, answers as the README says.

The lines are read from README.md itself and sent through Django's test client (curl's options
that the README uses: -X, -H, -d, -i), so a change to the API that breaks them fails here.
"""

import re
import shlex
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.consents.models import Consent
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.subjects.models import DataSubject

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.django_db


def try_it_lines() -> list[str]:
    """The shell lines of the block after "**Try it**", continuations joined, comments left out."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"\*\*Try it\*\*.*?```sh\n(.*?)```", text, re.S).group(1)
    joined = re.sub(r"\\\n\s*", " ", block)
    lines, current = [], ""
    for line in joined.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current = f"{current}\n{line}" if current else line
        if current.count("'") % 2 == 0:  # a -d '...' body may run over several lines
            lines.append(current)
            current = ""
    return lines


def curl(test_client, words: list[str]):
    method, url, headers, body, iterator = "GET", None, {}, None, iter(words[1:])
    for word in iterator:
        if word == "-X":
            method = next(iterator)
        elif word == "-H":
            name, _sep, value = next(iterator).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = next(iterator)
        elif word == "-i":
            continue
        else:
            url = word
    content_type = headers.pop("Content-Type", "application/json")
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    path = url.removeprefix("http://127.0.0.1:8000")
    return test_client.generic(method, path, data=body or "", content_type=content_type, **extra)


def test_the_readme_lines_push_a_subject_an_event_and_a_request(client, settings):
    settings.DEBUG = True
    for command in ("load_demo_data", "load_demo_consents"):
        call_command(command, stdout=StringIO())

    variables, answers = {}, []
    for line in try_it_lines():
        assignment = re.fullmatch(r"(\w+)=(.*)", line, re.S)
        if assignment and assignment.group(2).startswith("$("):
            words = shlex.split(assignment.group(2)[2:-1])
            out = StringIO()
            call_command(*words[2:], stdout=out, stderr=StringIO())  # ".venv/bin/python manage.py ..."
            variables[assignment.group(1)] = out.getvalue().strip()
            continue
        if assignment:
            variables[assignment.group(1)] = assignment.group(2)
            continue
        for name, value in variables.items():
            line = line.replace(f"${name}", value)
        response = curl(client, shlex.split(line))
        assert response.status_code in (200, 201), (line, response.content)
        answers.append(response)
        if response.has_header("ETag"):
            variables["ETAG"] = response["ETag"]
        if "/requests" in line and response.status_code == 201:
            variables["REQUEST_ID"] = str(response.json()["id"])

    assert len(answers) == 6  # PUT, PATCH, events, consents, POST and GET request
    subject = DataSubject.objects.get(account_id="SX1234567")
    assert subject.email == "aziza.karimova@mail.uz"
    assert answers[2].json()["applied"] == 2
    assert Consent.objects.in_force().filter(subject=subject, purpose__clause="1.3.2.5").exists()
    assert SubjectRequest.objects.filter(subject=subject, kind="access").count() == 1
    assert set(TrailEntry.objects.filter(subject_id=subject.pk).values_list("username", flat=True)) == {
        "api:mobile-app"}
