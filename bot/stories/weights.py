"""How much a shared word says: inverse document frequency in the window, smoothed by the language at large.

A word's document frequency is counted over the entries in the window, plus a prior: the share of
documents the word appears in across the language (from wordfreq's word frequencies, its "small" lists of
the ~30,000 most common words of each language), as if `PRIOR_DOCUMENTS` typical documents were in the
window too. So weights are sensible from the first entry on (an empty window weighs by the language
alone), and a name that fills the window today ("Kallas" in every other report) weighs less than one that
appears once, which is what tells two events about one person apart. Words missing from the list (names,
places, rare terms) are the rarest of all. Stems take the frequency of their most common word form; name
keys (the first letters of a capitalised word's transliterated spelling, vowels as "a": terms.name_key) that of the
most common word with that key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from bot.stories.terms import fold, language_code, name_key, stemmer

PRIOR_DOCUMENTS = 1000
"""How many typical documents the language-wide prior counts for."""
ZIPF_UNLISTED = 2.5
"""What a word outside the frequency list counts as: rarer than every listed word (they start at 3.0)."""
WORDS_PER_DOCUMENT = 100
"""A title and lead: a word of frequency f appears in about 100 f of them."""


def document_share(zipf: float) -> float:
    """The share of documents that hold a word of this Zipf frequency (10^(zipf-9) per word)."""
    return min(1.0, WORDS_PER_DOCUMENT * 10 ** (zipf - 9))


@dataclass(frozen=True, slots=True)
class LanguageWeights:
    """The language-wide document share of every listed stem and name key of one language."""

    stems: dict[str, float]
    names: dict[str, float]

    def share(self, feature: str) -> float:
        """The prior document share of a feature: a stem, "@" name key, or "#" entity id (always rare)."""
        if feature.startswith("@"):
            return self.names.get(feature[1:], _UNLISTED_SHARE)
        if feature.startswith("#"):
            return _UNLISTED_SHARE
        if feature.isdigit() and len(feature) > 1:
            feature = "0" * len(feature)  # wordfreq counts numbers by their shape
        return self.stems.get(feature, _UNLISTED_SHARE)


_UNLISTED_SHARE = document_share(ZIPF_UNLISTED)


def idf(documents: int, frequency: int, share: float) -> float:
    """ln(N/df) over the window's `documents` and the prior's, with the feature in `frequency` of the
    window's documents and a `share` of the prior's."""
    return math.log((documents + PRIOR_DOCUMENTS + 1) / (frequency + PRIOR_DOCUMENTS * share + 1))


def weights_for(language: str | None) -> LanguageWeights:
    """The prior of an entry's language ("en-GB" reads as "en"; English for languages without a list)."""
    return _weights(language_code(language))


@cache
def _weights(code: str) -> LanguageWeights:
    """Built once per language: about 50 ms."""
    import wordfreq  # only the story index needs it; the CLI's other commands start without it

    stem = stemmer(code)
    stems: dict[str, float] = {}
    names: dict[str, float] = {}
    for word, frequency in wordfreq.get_frequency_dict(code, wordlist="small").items():
        share = min(1.0, WORDS_PER_DOCUMENT * frequency)
        folded = fold(word)
        key = str(stem.stemWord(folded))
        stems[key] = max(stems.get(key, 0.0), share)
        if len(folded) > 2 and folded.isalpha():
            name = name_key(folded)
            names[name] = max(names.get(name, 0.0), share)
    return LanguageWeights(stems, names)
