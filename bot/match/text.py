"""Text analysis shared by queries and documents, so both sides fold words the same way.

A word is a run of letters, digits and combining marks in any script; everything else
(spaces, punctuation, apostrophes, hyphens) separates words, so "Estonia's" is "estonia" + "s"
and "F-16" is "f" + "16". Words are compared after case folding and diacritic folding
("Tõnis" == "tonis", "Straße" == "strasse"). Offsets always index the original string, so
a match can be shown (and bolded) exactly as it was written.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache


def _combining_marks() -> str:
    """A regex character class body of every combining mark in the Basic Multilingual Plane.

    `\\w` leaves marks out, which would cut "नमस्ते" or a decomposed "é" in pieces.
    """
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)).startswith("M"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges)


_MARKS = _combining_marks()
WORD = re.compile(rf"(?:[^\W_]|[{_MARKS}])+")
"""Words of documents: letters, digits and combining marks of any script."""

PATTERN_WORD = re.compile(rf"(?:[^\W_]|[{_MARKS}*?])+")
"""Words of query patterns: like WORD, plus the wildcards `*` and `?`."""

WILDCARDS = "*?"

_LETTER_FOLDS = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h"}
)

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof gen col lt sgt capt cpt maj adm st jr sr vs etc inc ltd co corp gov sen rep no approx".split()
)
_SENTENCE_END = frozenset(".!?…")


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Case- and diacritic-folded form of a word (wildcards pass through unchanged)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(_LETTER_FOLDS)


def pattern_words(text: str) -> tuple[str, ...]:
    """Split a query term or phrase into folded word patterns (which may hold wildcards)."""
    return tuple(fold(m.group()) for m in PATTERN_WORD.finditer(text))


def has_wildcard(pattern: str) -> bool:
    return any(c in pattern for c in WILDCARDS)


def literal_prefix(pattern: str) -> str:
    """The letters of a pattern before its first wildcard."""
    for i, c in enumerate(pattern):
        if c in WILDCARDS:
            return pattern[:i]
    return pattern


def glob_match(pattern: str, word: str) -> bool:
    """Whole-word wildcard match: `*` is any run of characters, `?` exactly one.

    The classic two-pointer algorithm: linear in practice, never exponential, no regex.
    """
    p = w = 0
    star_p, star_w = -1, 0
    while w < len(word):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == word[w]):
            p += 1
            w += 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_w = p, w
            p += 1
        elif star_p >= 0:
            p = star_p + 1
            star_w += 1
            w = star_w
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


@dataclass(slots=True)
class FieldText:
    """One field of a document cut into folded words, with original offsets and sentence numbers."""

    text: str
    words: list[str]
    starts: list[int]
    ends: list[int]
    sentences: list[int]
    _index: dict[str, list[int]] | None = field(default=None, repr=False)
    _vocabulary: list[str] | None = field(default=None, repr=False)

    @property
    def index(self) -> dict[str, list[int]]:
        """Word -> positions, built on first use."""
        if self._index is None:
            index: dict[str, list[int]] = {}
            for i, w in enumerate(self.words):
                index.setdefault(w, []).append(i)
            self._index = index
        return self._index

    @property
    def vocabulary(self) -> list[str]:
        """Distinct words, sorted, so prefix lookups are a binary search."""
        if self._vocabulary is None:
            self._vocabulary = sorted(self.index)
        return self._vocabulary

    def words_with_prefix(self, prefix: str) -> list[str]:
        vocabulary = self.vocabulary
        lo = bisect.bisect_left(vocabulary, prefix)
        hi = lo
        while hi < len(vocabulary) and vocabulary[hi].startswith(prefix):
            hi += 1
        return vocabulary[lo:hi]

    def matching_words(self, pattern: str) -> list[str]:
        """Distinct words of this field that a (possibly wildcard) pattern matches."""
        if not has_wildcard(pattern):
            return [pattern] if pattern in self.index else []
        candidates = self.words_with_prefix(literal_prefix(pattern))
        if pattern.endswith("*") and not has_wildcard(pattern[:-1]):
            return candidates
        return [w for w in candidates if glob_match(pattern, w)]


def analyze(text: str) -> FieldText:
    """Cut text into folded words with offsets and sentence numbers.

    A sentence ends where the gap between two words holds `.`, `!`, `?` or `…` plus whitespace
    and the next word does not start in lower case, unless the word before is an abbreviation or
    a single letter ("Mr. Smith", "U.S. troops"); a line break always ends a sentence.
    """
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    sentences: list[int] = []
    sentence = 0
    previous_end = 0
    for m in WORD.finditer(text):
        start, end = m.span()
        raw = m.group()
        if words and _ends_sentence(text[previous_end:start], words[-1], raw):
            sentence += 1
        words.append(fold(raw))
        starts.append(start)
        ends.append(end)
        sentences.append(sentence)
        previous_end = end
    return FieldText(text, words, starts, ends, sentences)


def _ends_sentence(gap: str, previous_word: str, next_raw: str) -> bool:
    if "\n" in gap:
        return True
    if not any(c in _SENTENCE_END for c in gap) or not any(c.isspace() for c in gap):
        return False
    if next_raw[0].islower():
        return False
    abbreviation = gap.lstrip().startswith(".") and (len(previous_word) == 1 or previous_word in _ABBREVIATIONS)
    return not abbreviation
