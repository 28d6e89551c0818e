"""One decision from every signal: is an entry one event with a story its meaning is close to?

A logistic regression over what the entry and the story share: the meaning cosine (meaning.py), the
cosine of their weighted words, the names and rule-book entities they share (names across scripts, see
text.name_key), the hours between them, and whether they are in different languages (the model's cosines
run lower across languages). Its coefficients were fitted by bench/fit_meaning.py on the
labelled development data kept in the repository (tests/stories/testdata: the snapshot development set and
the hand-written stories; the German/English SemEval development pairs of the corpus), never on held-back
material; the script prints the figures they give (bench/README.md keeps them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHARED_CAP = 3
"""Shared names and entities count up to three each: beyond that they say nothing more."""
HOURS_CAP = 48.0


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an entry shares with a story: the signals the decision weighs."""

    meaning: float
    words: float
    names: int
    entities: int
    hours: float
    languages_differ: bool = False

    def inputs(self) -> tuple[float, ...]:
        return (
            self.meaning,
            self.words,
            min(self.names, SHARED_CAP),
            min(self.entities, SHARED_CAP),
            min(self.hours, HOURS_CAP) / 24,
            1.0 if self.languages_differ else 0.0,
        )


INPUTS = ("meaning", "words", "names", "entities", "days", "other language")
# Fitted by bench/fit_meaning.py (see its output in bench/README.md, ## meaning).
INTERCEPT = -32.2810
COEFFICIENTS = (35.0938, 5.3851, -0.3393, -3.9750, -2.0125, 1.5951)


def same_event(evidence: Evidence) -> float:
    """The probability that the entry tells the story's event."""
    z = INTERCEPT + sum(w * x for w, x in zip(COEFFICIENTS, evidence.inputs(), strict=True))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))
