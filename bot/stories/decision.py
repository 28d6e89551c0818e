"""One decision from every signal: is an entry one event with a story its meaning is close to?

A logistic regression over what the entry and the story share: the meaning cosine (meaning.py; across
languages, that of longer texts), the cosine of their weighted words, the names and rule-book entities they
share (names across scripts and languages: terms.name_key, places.py), the hours between them, and whether
they are in different languages (the model's cosines run lower across languages). Its coefficients were fitted by
bench/fit_meaning.py on the labelled development data kept in the repository (tests/stories/testdata: the
snapshot and 2024-10-18 development sets, the hand-written stories, the German/English SemEval development
pairs, the written Russian/Ukrainian-English pairs), never on held-back material; the script prints the
figures they give (bench/README.md keeps them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHARED_CAP = 3
"""Why? names up to three shared names and entities each."""
HOURS_CAP = 48.0


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an entry shares with a story: the signals the decision weighs. `names` are the names both
    name (compared by terms.name_key; once filed, as the entry writes them), `entities` the rule-book entity
    ids; `meaning` is None where the entry has no
    meaning vector (it joined by its words), and across languages the cosine of longer texts where both were
    kept (index.py)."""

    meaning: float | None
    words: float
    names: tuple[str, ...]
    entities: tuple[str, ...]
    who: float
    """The weight the shared names and entities carry in the entry's features (rare ones weigh most)."""
    apart: float
    """The weight of the names the entry has and the story does not: two events told in one template
    ("The harbour of X reported ...") differ there."""
    hours: float
    languages_differ: bool = False

    def inputs(self) -> tuple[float, ...]:
        across = 1.0 if self.languages_differ else 0.0
        return (
            self.meaning or 0.0,
            self.words,
            self.who * (1 - across),
            self.who * across,
            self.apart * (1 - across),
            min(self.hours, HOURS_CAP) / 24,
            across,
        )

    def said(self) -> str:
        """In words, for Why?: "meaning 0.91 (likely the same event: 0.87); words 0.12; names Kallas,
        Estonia; entities kaja-kallas"."""
        parts = []
        if self.meaning is not None:
            across = " across languages" if self.languages_differ else ""
            parts.append(f"meaning{across} {self.meaning:.2f} (likely the same event: {same_event(self):.2f})")
        parts.append(f"words {self.words:.2f}")
        if self.names:
            parts.append("names " + ", ".join(self.names[:SHARED_CAP]))
        if self.entities:
            parts.append("entities " + ", ".join(self.entities[:SHARED_CAP]))
        return "; ".join(parts)


INPUTS = (
    "meaning", "words", "names and entities", "the same across languages", "names of its own", "days",
    "other language",
)  # fmt: skip
SIGNS = (1, 1, 1, 1, -1, -1, 0)
"""What each input may only do: raise the likelihood (1), lower it (-1), either (0). A fitted weight of the
wrong sign (a confound of the small development data) is left out and the rest refitted."""
# Fitted by bench/fit_meaning.py (see its output in bench/README.md, ## meaning).
INTERCEPT = -39.2748
COEFFICIENTS = (44.2988, 0.6300, 0.0000, 0.0409, -0.7481, -1.0026, 1.3212)


LIKELY = 0.5
"""The likelihood from which an entry joins the story (chosen with the coefficients, see bench/fit_meaning.py)."""
WORDS_ALONE = 0.2
"""Meaning never decides alone: an entry sharing no name or entity with the story must share this much of
its words' weight (made-up or templated texts, "The harbour of X reported ...", read alike to the model)."""


def may_join(evidence: Evidence) -> bool:
    """Whether the decision may join them at all: a name or an entity in common, or `WORDS_ALONE` of the
    words."""
    return bool(evidence.who) or evidence.words >= WORDS_ALONE


def same_event(evidence: Evidence) -> float:
    """The probability that the entry tells the story's event (0 where it may not join them)."""
    if not may_join(evidence):
        return 0.0
    z = INTERCEPT + sum(w * x for w, x in zip(COEFFICIENTS, evidence.inputs(), strict=True))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))
