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
from functools import lru_cache
from itertools import accumulate


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
_SPLIT = re.compile(rf"([\w{_MARKS}]+)")
"""Words, kept as separators by `split`: letters, digits and marks of any script (`_` is blanked out first)."""

PATTERN_WORD = re.compile(rf"[\w{_MARKS}*?]+")
"""Words of query patterns: the same, plus the wildcards `*` and `?`."""

_BREAK = re.compile(r"[\n.!?…]")
"""Characters that may end a sentence; the gap between two words that holds one decides."""

WILDCARDS = "*?"

_LETTER_FOLDS = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h"}
)

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof gen col lt sgt capt cpt maj adm st jr sr vs etc inc ltd co corp gov sen rep no approx".split()
)


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Case- and diacritic-folded form of a word (wildcards pass through unchanged)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(_LETTER_FOLDS)


def pattern_words(text: str) -> tuple[str, ...]:
    """Split a query term or phrase into folded word patterns (which may hold wildcards)."""
    return tuple(map(fold, PATTERN_WORD.findall(text.replace("_", " "))))


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


class FieldText:
    """One field of a document as folded words and a word -> positions index.

    Tokenising is one C-level `split` that keeps the separators, so offsets (for spans) are
    cumulative lengths; they and the sentence numbers (for NEAR/s) are worked out only when first
    asked for, since most rules never need them.
    """

    __slots__ = ("_offsets", "_parts", "_sentences", "_vocabulary", "index", "text", "words")

    def __init__(self, text: str) -> None:
        self.text = text
        self._parts = _SPLIT.split(text.replace("_", " "))
        self.words: list[str] = list(map(fold, self._parts[1::2]))
        index: dict[str, list[int]] = {}
        for i, w in enumerate(self.words):
            positions = index.get(w)
            if positions is None:
                index[w] = [i]
            else:
                positions.append(i)
        self.index = index
        self._offsets: tuple[list[int], list[int]] | None = None
        self._sentences: list[int] | None = None
        self._vocabulary: list[str] | None = None

    def offsets(self) -> tuple[list[int], list[int]]:
        """Start and end offsets of every word in the original text."""
        if self._offsets is None:
            ends_of_parts = list(accumulate(map(len, self._parts)))
            self._offsets = (ends_of_parts[0:-1:2], ends_of_parts[1::2])
        return self._offsets

    @property
    def sentences(self) -> list[int]:
        """The sentence number of each word (see `analyze` for where sentences end)."""
        if self._sentences is None:
            starts, ends = self.offsets()
            text, words = self.text, self.words
            marks = [0] * len(words)
            last_gap = 0
            for found in _BREAK.finditer(text):
                k = bisect.bisect_right(starts, found.start())
                if last_gap < k < len(words):
                    last_gap = k
                    marks[k] = _ends_sentence(text[ends[k - 1] : starts[k]], words[k - 1], text[starts[k]])
            self._sentences = list(accumulate(marks))
        return self._sentences

    def words_with_prefix(self, prefix: str) -> list[str]:
        """Distinct words starting with `prefix`, by binary search in the sorted vocabulary."""
        if self._vocabulary is None:
            self._vocabulary = sorted(self.index)
        vocabulary = self._vocabulary
        lo = bisect.bisect_left(vocabulary, prefix)
        hi = lo
        while hi < len(vocabulary) and vocabulary[hi].startswith(prefix):
            hi += 1
        return vocabulary[lo:hi]


_NO_POSITIONS: list[int] = []


class WordPattern:
    """One word of a query, compiled for the cheapest test: exact, `abc*`, `*abc`, `ab?d`, or general."""

    __slots__ = ("kind", "literal", "pieces", "text")

    EXACT, PREFIX, SUFFIX, SAME_LENGTH, GLOB = range(5)

    def __init__(self, text: str) -> None:
        self.text = text
        inner = text.strip("*")
        self.literal = literal_prefix(text)
        self.pieces: list[tuple[int, str]] = []
        if not has_wildcard(text):
            self.kind = self.EXACT
        elif not has_wildcard(inner) and text == inner + "*":
            self.kind = self.PREFIX
        elif not has_wildcard(inner) and text == "*" + inner:
            self.kind, self.literal = self.SUFFIX, inner
        elif "*" not in text:
            self.kind = self.SAME_LENGTH
            offset = 0
            for piece in text.split("?"):
                if piece:
                    self.pieces.append((offset, piece))
                offset += len(piece) + 1
        else:
            self.kind = self.GLOB

    def matches(self, word: str) -> bool:
        kind = self.kind
        if kind == self.EXACT:
            return word == self.text
        if kind == self.PREFIX:
            return word.startswith(self.literal)
        if kind == self.SUFFIX:
            return word.endswith(self.literal)
        if kind == self.SAME_LENGTH:
            return len(word) == len(self.text) and all(word.startswith(p, at) for at, p in self.pieces)
        return glob_match(self.text, word)

    def positions(self, field: FieldText) -> list[int]:
        """Where in the field this pattern matches a word, in ascending order (do not modify)."""
        index = field.index
        kind = self.kind
        if kind == self.EXACT:
            return index.get(self.text, _NO_POSITIONS)
        if kind == self.PREFIX:
            words = field.words_with_prefix(self.literal)
        elif kind == self.SUFFIX:
            words = [w for w in index if w.endswith(self.literal)]
        else:
            candidates = field.words_with_prefix(self.literal) if self.literal else list(index)
            words = [w for w in candidates if self.matches(w)]
        if len(words) == 1:
            return index[words[0]]
        return sorted(i for w in words for i in index[w])


def analyze(text: str) -> FieldText:
    """Cut text into folded words (with offsets and sentence numbers on demand).

    A sentence ends where the gap between two words holds `.`, `!`, `?` or `…` plus whitespace
    and the next word does not start in lower case, unless the word before is an abbreviation or
    a single letter ("Mr. Smith", "U.S. troops"); a line break always ends a sentence.
    """
    return FieldText(text)


def _ends_sentence(gap: str, previous_word: str, next_char: str) -> bool:
    """Whether the gap between two words ends a sentence (each gap is looked at once: linear time)."""
    if "\n" in gap:
        return True
    end = next((i for i, c in enumerate(gap) if c in ".!?…"), -1)
    if end < 0 or not any(c.isspace() for c in gap[end:]) or next_char.islower():
        return False
    abbreviation = gap[0] == "." and (len(previous_word) == 1 or previous_word in _ABBREVIATIONS)
    return not abbreviation
