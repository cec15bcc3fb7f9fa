"""The name search key (core/names.py): one key for a name however it is typed."""

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shipex_privacy.core.names import NAME_KEY_MAX_LENGTH, name_search_key

APOSTROPHES = "ʻʼ‘’'`"
names = st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzабвгдеёжзийклмнопрстуфхцчшщъыьэюяўқғҳ -")),
                max_size=40)


@pytest.mark.parametrize(("typed", "key"), [
    ("Oʻgʻiloy Xudoyberdiyeva", "ogiloy xudoyberdiyeva"),
    ("O'g'iloy  XUDOYBERDIYEVA", "ogiloy xudoyberdiyeva"),
    ("O‘g‘iloy xudoyberdiyeva", "ogiloy xudoyberdiyeva"),
    ("O`g`iloy", "ogiloy"),
    ("Ўғилой Худойбердиева", "ogiloy xudoyberdieva"),
    ("Шоҳруҳ Қодиров", "shohruh qodirov"),
    ("José Müller-Lüdenscheidt", "jose muller ludenscheidt"),
    ("  Ma’ruf\tRaxmatullayev ", "maruf raxmatullayev"),
    ("Ёқубов Юлдуз", "yoqubov yulduz"),
    ("Straße", "strasse"),
    ("", ""),
    ("—", ""),
])
def test_known_spellings_fold_to_one_key(typed, key):
    assert name_search_key(typed) == key


@given(st.text(max_size=60))
@example("Ǆ̈ﬁ")
@example("ß" * 200)
def test_the_key_is_its_own_key(value):
    key = name_search_key(value)
    assert name_search_key(key) == key


@given(st.text(max_size=60))
def test_the_key_is_lower_case_single_spaced_and_without_marks(value):
    key = name_search_key(value)
    assert key == key.strip()
    assert "  " not in key
    assert len(key) <= NAME_KEY_MAX_LENGTH
    assert not any(unicodedata.combining(char) for char in key)
    assert not any(char in APOSTROPHES for char in key)
    assert key.casefold() == key


@given(names)
def test_case_does_not_matter(value):
    assert name_search_key(value.upper()) == name_search_key(value) == name_search_key(value.title())


@given(names, st.lists(st.sampled_from(APOSTROPHES), max_size=3), st.data())
def test_apostrophes_anywhere_do_not_matter(value, marks, data):
    spelled = value
    for mark in marks:
        at = data.draw(st.integers(0, len(spelled)))
        spelled = spelled[:at] + mark + spelled[at:]
    assert name_search_key(spelled) == name_search_key(value)


@given(st.text(alphabet=st.sampled_from(list("aeiouncy")), min_size=1, max_size=20),
       st.lists(st.sampled_from(["\u0301", "\u0300", "\u0308", "\u0302", "\u0303", "\u0327"]), min_size=1))
def test_accents_do_not_matter(value, accents):
    accented = value[0] + "".join(accents) + value[1:]
    assert name_search_key(unicodedata.normalize("NFC", accented)) == name_search_key(value)
    assert name_search_key(accented) == name_search_key(value)


@given(names, names)
def test_the_first_words_key_is_a_prefix_of_the_whole_names_key(first, rest):
    # What makes a prefix search of the key find a name by its first word(s).
    assert name_search_key(f"{first} {rest}").startswith(name_search_key(first))


@given(st.text(alphabet=st.sampled_from(list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяўқғҳ")), max_size=30))
def test_cyrillic_becomes_latin(value):
    assert name_search_key(value).isascii()
