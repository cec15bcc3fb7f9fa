"""The one form a person's name is searched in: ``name_search_key``.

Staff type a name the way they heard or read it: in Latin or Cyrillic, with or without the Uzbek
apostrophe of oʻ and gʻ (typed as ʻ, ‘, ’, ', ` or not at all), with or without accents, in any
case. The key folds all of these away, so "Oʻgʻiloy", "O'g'iloy", "ogiloy" and "Ўғилой" share one
key, and a prefix of the key is a prefix of the name: a search is one indexed prefix lookup.

The key is only ever compared with other keys; it is never shown.
"""

import re
import unicodedata

from .identifiers import ascii_digits

NAME_KEY_MAX_LENGTH = 300

# Uzbek Cyrillic (with the Russian letters Uzbek names use) to the official Uzbek Latin alphabet,
# apostrophes left out as the key leaves them out everywhere. Applied after casefolding.
CYRILLIC_TO_LATIN = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j", "з": "z",
    "и": "i", "й": "y", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ў": "o", "ф": "f", "х": "x", "ҳ": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sh", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i",
})
# The characters the Uzbek oʻ, gʻ and the tutuq belgisi (ʼ) are typed with: dropped, not spaces.
APOSTROPHES = str.maketrans("", "", "ʻʼ‘’'`´ʹ′")
NOT_A_NAME_CHARACTER_RE = re.compile(r"[\W_]+")


def name_search_key(value: str) -> str:
    """``value`` folded for search: case, accents, apostrophes and script gone; words separated by one space."""
    folded = unicodedata.normalize("NFKC", ascii_digits(str(value))).casefold()
    folded = unicodedata.normalize("NFC", folded).translate(CYRILLIC_TO_LATIN).translate(APOSTROPHES)
    # Decomposed, accents are marks of their own (é = e + ◌́): keep the letters, drop the marks.
    letters = "".join(char for char in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(char))
    words = NOT_A_NAME_CHARACTER_RE.sub(" ", letters).split()
    return " ".join(words)[:NAME_KEY_MAX_LENGTH].rstrip()
