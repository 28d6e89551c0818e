"""fold() strips every combining mark of the whole code space, though its table stops at _MARKS_END."""

import sys
import unicodedata

from bot.stories.terms import _MARKS_END, fold


def test_no_combining_mark_lies_past_the_table() -> None:
    assert not [c for c in range(_MARKS_END, sys.maxunicode + 1) if unicodedata.combining(chr(c))]


def test_fold_drops_accents_and_case() -> None:
    assert fold("Déjà Vu") == "deja vu"
    assert fold("Zełenśkyj") == "zełenskyj"  # ł is a letter, not a letter plus a mark
    assert fold("\U0001e944x") == "x"  # Adlam nukta, the last block of marks
