"""Text normalisation shared by copy detection and story clustering.

Comparisons ignore case, accents and punctuation; story terms also drop function words and are stemmed
(Snowball, in the entry's language) so that "deploy", "deployed" and "deployment" meet. Names meet across
scripts and spellings through their transliteration key (`name_key`): "Зеленский", "Selenskyj" and
"Zelenskyy" are one name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Protocol

import snowballstemmer
from anyascii import anyascii

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")

STEMMERS = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "ru": "russian",
    "uk": "",  # Snowball has no Ukrainian stemmer: words are cut to their first UK_STEM letters instead
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "sv": "swedish",
}
"""The languages stemmed, by two-letter code (the languages detected when a feed names none)."""
UK_STEM = 6

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just last least less made make
    many may me might more most much must my new next no nor not now of off on once one only or other our
    out over own said same says she should since so some such than that the their them then there these
    they this those through to too two under until up upon us very was we were what when where which while
    who whom why will with would year years yet you your monday tuesday wednesday thursday friday saturday
    sunday week according told reported report reports news
    der die das den dem des ein eine einer eines einem und oder aber nicht mit von zu im in am auf für ist
    sind war wurde wird hat haben sich auch als bei nach wie laut zum zur vom beim über unter dass es er sie
    wir ihr ihre sein seine dies diese dieser noch nur so schon
    le la les un une des du de et ou mais pas avec pour dans sur est sont été a au aux ce cette qui que
    selon
    и в во на не что с со по к а но как это из за от для о об у же то он она они был была были
    і й та що це як до про від його її їх був була були вже також""".split()
)


# Every combining mark lies below U+20000 (the last is U+1E94A; tests/stories/test_fold.py checks it),
# so the table is built from a sixth of the code space (18 ms instead of 0.1 s at every start).
_MARKS_END = 0x20000


@cache
def _combining_marks() -> dict[int, None]:
    """A str.translate table deleting every combining mark (built once)."""
    return {code: None for code in range(_MARKS_END) if unicodedata.combining(chr(code))}


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a text: "Déjà Vu" -> "deja vu"."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    return unicodedata.normalize("NFKD", folded).translate(_combining_marks()).replace("’", "'")


def words(text: str) -> list[str]:
    """The folded words of a text, punctuation dropped."""
    return _WORD.findall(fold(text))


class Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...

    def stemWords(self, words: list[str]) -> list[str]: ...


class _Cut:
    """A stemmer for languages Snowball lacks (Ukrainian): the word's first letters, where inflection is
    rare."""

    def stemWord(self, word: str) -> str:
        return word[:UK_STEM]

    def stemWords(self, words: list[str]) -> list[str]:
        return [word[:UK_STEM] for word in words]


def language_code(language: str | None) -> str:
    """The two-letter code of a language tag ("en-GB" -> "en"); English for none or one not stemmed."""
    code = (language or "en")[:2].lower()
    return code if code in STEMMERS else "en"


@cache
def stemmer(language: str) -> Stemmer:
    """The stemmer of a two-letter language code (English for languages without one)."""
    algorithm = STEMMERS.get(language, "english")
    found: Stemmer = snowballstemmer.stemmer(algorithm) if algorithm else _Cut()
    return found


def terms(text: str, language: str | None = None) -> list[str]:
    """Content words, stemmed: what two reports of one event share even when worded differently.

    Numbers are kept (casualty counts and dates tell events apart); one-letter words are not.
    """
    kept = [w for w in words(text) if len(w) > 1 and w not in STOPWORDS]
    return [str(s) for s in stemmer(language_code(language)).stemWords(kept)]


# Spellings of one sound across transliteration schemes (English, German, scholarly), longest first:
# Шольц/Scholz/Sholts, Зеленский/Selenskyj/Zelenskyy, Лавров/Lawrow, Макрон/Macron, Джексон/Jackson,
# Рахман/Rahman, Ирак/Iraq.
_SOUNDS = (
    ("dzh", "j"), ("kh", "h"), ("tsch", "ch"), ("sch", "sh"), ("ch", "\x00"), ("ck", "k"), ("ph", "f"),
    ("tz", "s"), ("ts", "s"), ("ue", "u"), ("oe", "o"), ("c", "k"), ("\x00", "ch"), ("w", "v"), ("z", "s"),
    ("y", "i"), ("j", "i"), ("x", "ks"), ("q", "k"),
)  # fmt: skip
NAME_KEY_LETTERS = 5
"""A name key is the first letters of the spelling: "Estonia", "Estonian" and "Эстонии" meet."""
_AS_A = str.maketrans("eiou", "aaaa")


def spelling(word: str) -> str:
    """A word in plain Latin letters, whatever its script or accents, in one transliteration:
    "Зеленський" -> "selenski", "Selenskyj" -> "selenski", "Zelenskyy" -> "selenski"."""
    latin = fold(word)
    if not latin.isascii():
        latin = anyascii(latin).lower()
    latin = "".join(c for c in latin if c.isalpha())
    for written, sound in _SOUNDS:
        if written in latin:
            latin = latin.replace(written, sound)
    return "".join(c for i, c in enumerate(latin) if i == 0 or c != latin[i - 1])


def name_key(word: str) -> str:
    """The key a name is compared by: the first letters of its `spelling`, every vowel read as "a".
    Transliterations differ most in the vowels ("Russia" and "Россия", "Jackson" and "Джексон"), spellings of
    different names in the consonants; a suffix after the first letters ("Russian", "Russia's", "Estonia" and
    "Эстонии") does not change the key. A shorter inflection does ("России" is "rasa", "Россия" "rasaa"):
    reading vowel runs as one and dropping final vowels joined those too, but split "Russian" and "Russia's"
    from "Russia" and made more unrelated names meet ("National" and "Netanyahu"; bench/README.md)."""
    return spelling(word)[:NAME_KEY_LETTERS].translate(_AS_A)


_ENDERS = frozenset('.!?:;"“”«»()[]—–-\n')
# Capitalised because they stand before a name, not because they are one.
_TITLES = frozenset(
    """prime minister ministry president vice foreign defence defense interior finance secretary general
    chancellor king queen prince spokesman spokesperson court government parliament army police state
    district county city republic mr mrs ms dr""".split()
)


def _opens_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 4) : start].rstrip(" \t")
    return not before or before[-1] in _ENDERS


def names(text: str) -> frozenset[str]:
    """Keys of the capitalised words that do not open a sentence: the people, places and bodies named.

    A key is `name_key`: the first letters of the word's transliterated spelling, vowels as "a", so "Estonia",
    "Estonian", "Estonia's" and "Эстонии" meet, and "Russia" meets "Russian"; stop words and titles
    ("The", "Minister") never count. Feed it body text, not a Title-Case Headline.
    """
    return frozenset(written_names(text))


def words_as_written(text: str) -> list[str]:
    """The words of a text as it writes them (case and accents kept), punctuation dropped."""
    return _WORD.findall(text)


def written_names(text: str) -> dict[str, str]:
    """`names`, each key with the word that first gave it as the text writes it (what Why? shows)."""
    found: dict[str, str] = {}
    for match in _WORD.finditer(text):
        word = match.group(0)
        if not word[0].isupper() or _opens_sentence(text, match.start()):
            continue
        folded = fold(word)
        if folded not in STOPWORDS and folded not in _TITLES and len(folded) > 2:
            found.setdefault(name_key(folded), word)
    return found
