"""The language of an entry: the one its feed declares, else the one its text is written in.

Stemming, the word prior and stop words depend on it, so a Russian report must not be read as English.
Detection is offline (py3langid: a naive Bayes model of byte n-grams shipped in the package, numpy only,
about 0.05 ms an entry) and limited to the languages the story index stems (terms.STEMMERS), so a short
headline is not taken for a language nobody reads.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

from bot.model import Entry
from bot.stories.terms import STEMMERS

DETECT_CHARS = 400
"""Detection reads the title and the first characters of the body: enough, and a bounded cost."""


class _Identifier(Protocol):
    def classify(self, text: str) -> tuple[str, float]: ...


@cache
def _identifier() -> _Identifier:
    """Loaded once per process (about 0.6 s), by `load_identifier` or the first entry without a declared language."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier: _Identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(sorted(STEMMERS))  # type: ignore[attr-defined]
    return identifier


def load_identifier() -> None:
    """Load the identifier now: the ingest role does it while it opens its window (off the event loop), so the
    first entry filed after a start does not wait for it."""
    _identifier()


def detect(text: str) -> str | None:
    """The two-letter code of the language a text is written in, or None for a text without letters."""
    sample = text[:DETECT_CHARS]
    if not any(c.isalpha() for c in sample):
        return None
    return _identifier().classify(sample)[0]


def entry_language(entry: Entry) -> str | None:
    """The entry's language as a two-letter code: its feed's, else detected from its title and body."""
    if entry.language:
        return entry.language[:2].lower()
    return detect(f"{entry.title}. {entry.body}")
