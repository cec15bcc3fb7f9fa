"""A system's name inside a sentence is its name in the sentence's language (``system.shown.name``).

``System.name`` is the name as first written (English for the seeded systems); a history reason, a
note or a page title built from it showed English in the middle of Uzbek. This guards the whole class.
"""

import re
from pathlib import Path

import shipex_privacy

# "system": <something>.system.name   or   "system": system.name   (not .shown.name)
RAW_NAME = re.compile(r'"system":\s*(?:[\w\[\]"]+\.)*system\.name\b')


def test_no_sentence_is_filled_with_a_systems_untranslated_name():
    root = Path(shipex_privacy.__file__).parent
    found = [f"{path.relative_to(root)}:{number}"
             for path in sorted(root.rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if RAW_NAME.search(line)]
    assert not found, f"use system.shown.name in: {found}"
