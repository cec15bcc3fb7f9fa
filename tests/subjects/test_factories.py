"""The subject factory's account ids never meet an id a test writes by hand."""

import re
from pathlib import Path

from tests.subjects.factories import FIRST_ACCOUNT

TESTS = Path(__file__).resolve().parent.parent


def test_no_test_writes_an_account_id_in_the_factorys_range():
    # The sequence once ran into "SX1002345" after 2,345 subjects, and a test that made that id by
    # hand failed or passed depending on how many tests ran before it.
    first = str(FIRST_ACCOUNT)
    pattern = re.compile(rf"SX{first[0]}\d{{{len(first) - 1}}}\b")
    found = [f"{path.relative_to(TESTS)}:{number}"
             for path in sorted(TESTS.rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert not found, found
