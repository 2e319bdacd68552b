"""A contact's phonetic name key: American Soundex of each word of its ``sort_name``, the
codes sorted ("Jon Smith" and "John Smyth" both give ``J500 S530``, first and last name
swapped too). Duplicates group contacts by it (``duplicates``).

Migration 0004n computed it in PostgreSQL (``rapport_name_key``, a PL/pgSQL loop over
each letter) for a generated column: 11.6 us a row, a tenth of an import's database
time, on the path every batch waits for. It is derived here now with the other derived
columns (``rows.derive``), where an import computes it in its validation process; the
SQL function stays, as the reference this is tested against
(``tests/test_contact_name_keys.py``) and for writers that leave the column out
(migration 0015n's trigger).
"""

from __future__ import annotations

import functools
import re

# Soundex digits per letter a..z; digits (and anything else) separate like a vowel.
_CODES = str.maketrans(
    "abcdefghijklmnopqrstuvwxyz0123456789", "01230120022455012623010202.........."
)
_WORDS = re.compile(r"[\W_]+")  # what is not a letter or a digit separates words


@functools.lru_cache(maxsize=65_536)  # names repeat: an import meets each word many times
def _soundex(word: str) -> str:
    codes = word.translate(_CODES)
    first = word[0].upper()
    code = first if len(first) == 1 else word[0]  # "ß" stays "ß", as PostgreSQL's upper()
    previous = codes[0]
    for letter, digit in zip(word[1:], codes[1:], strict=True):
        if len(code) == 4:
            break
        if letter in "hw":  # h and w never separate
            continue
        if "1" <= digit <= "6" and digit != previous:
            code += digit
        previous = digit
    return code.ljust(4, "0")


def name_key(sort_name: str) -> str:
    """The key of a (lowercased) sort name: each word's Soundex code, sorted."""
    return " ".join(sorted(_soundex(word) for word in _WORDS.split(sort_name.lower()) if word))
