"""Fit the meaning decision (bot/stories/decision.py) on the labelled development data.

Run: .venv/bin/python bench/fit_meaning.py [--write]

The story index files each development set with the meaning signal on but its decision off, and records,
for every entry with a vector, what it shares with each story nearest in meaning (decision.Evidence) where
the decision may join them (a name or an entity in common, or decision.WORDS_ALONE of the words), and
whether that story is the entry's labelled event (the event most of its labelled members belong to). A
logistic regression (numpy, Newton's method, a small L2 penalty) is fitted on those examples; the script
prints its coefficients, their figures in sample and in 5-fold cross-validation (folds by set and event,
so one event is never on both sides), and with --write puts the coefficients into decision.py.
Data: bench/meaning_sets.py (the snapshot development set, the 2024 development set, stories.yaml, the pairs
across languages).
"""

from __future__ import annotations

import argparse
import re
import sys
import zlib
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.meaning_sets import dev_pairs, meaning_embedder, pair_items  # noqa: E402
from bench.stories import EntityIds, items_2024_set, shipped_entities, snapshot_set  # noqa: E402
from bot.model import Entry  # noqa: E402
from bot.stories.decision import INPUTS, SIGNS, Evidence, may_join  # noqa: E402
from bot.stories.features import StoryFeatures  # noqa: E402
from bot.stories.index import Assignment, ClusterConfig, Embedder, StoryIndex  # noqa: E402
from tests.stories.articles import load_articles  # noqa: E402
from tests.stories.snapshot import FETCHED_AT, canonical  # noqa: E402

DECISION = ROOT / "bot" / "stories" / "decision.py"
PENALTY = 0.01


@dataclass(frozen=True, slots=True)
class Example:
    group: str
    evidence: Evidence
    same: bool


class _Recorder(StoryIndex):
    """A story index that records the meaning candidates of each entry and joins none of them."""

    def __init__(self, embedder: Embedder, gold: dict[int, Hashable], group: str, examples: list[Example]) -> None:
        super().__init__(ClusterConfig(meaning=True), embedder)
        self.gold, self.group, self.examples = gold, group, examples

    def _by_meaning(self, assignment: Assignment, features: StoryFeatures, time: float) -> Assignment:
        event = self.gold.get(assignment.entry_id)
        decided = {assignment.story_id, *assignment.merged}
        for story_id, evidence in self.meaning_candidates(assignment.entry_id, features, time, decided):
            labels = Counter(self.gold[m] for m in self.members(story_id) if m in self.gold)
            if event is not None and labels and may_join(evidence):
                story_event = labels.most_common(1)[0][0]
                self.examples.append(Example(f"{self.group}:{event}", evidence, story_event == event))
        return assignment


def record(
    embedder: Embedder, group: str, items: list[tuple[str, Entry]], gold: dict[str, Hashable], entities: EntityIds
) -> list[Example]:
    """File keyed entries in the given order; the examples their meaning candidates give."""
    examples: list[Example] = []
    ids = {key: number for number, (key, _) in enumerate(items, start=1)}
    index = _Recorder(embedder, {ids[k]: event for k, event in gold.items() if k in ids}, group, examples)
    for key, entry in items:
        index.add(ids[key], entry, entities(entry), at=FETCHED_AT)
    return examples


def collect(embedder: Embedder) -> list[Example]:
    entities = shipped_entities()
    examples: list[Example] = []
    snapshot = snapshot_set()
    if snapshot is not None:
        feeds, gold = snapshot
        items = list({key: (key, entry) for _, feed in feeds for key, entry in feed}.values())
        examples += record(embedder, "snapshot", canonical(items), gold, entities)
    items_2024 = items_2024_set()
    if items_2024 is not None:
        feeds, gold = items_2024
        items = list({key: (key, entry) for _, feed in feeds for key, entry in feed}.values())
        examples += record(embedder, "2024", canonical(items), gold, entities)
    articles = load_articles()
    stories = {a.key: a.story for a in articles}
    examples += record(embedder, "stories", [(a.key, a.entry) for a in articles], stories, entities)
    for set_name, pairs in dev_pairs().items():
        items, events = pair_items(pairs)
        # A pair's label says how its two articles (in two languages) relate, nothing about the others: only
        # candidates in the other language are examples.
        found = record(embedder, set_name, items, dict(events), entities)
        examples += [e for e in found if e.evidence.languages_differ]
    return examples


def fit(x: np.ndarray, y: np.ndarray, penalty: float = PENALTY) -> np.ndarray:
    """Logistic regression by Newton's method; the intercept first, then one weight per input."""
    design = np.hstack([np.ones((len(x), 1)), x])
    weights = np.zeros(design.shape[1])
    ridge = penalty * np.eye(design.shape[1])
    ridge[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(design @ weights, -30, 30)))
        gradient = design.T @ (p - y) + ridge @ weights
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-9:
            break
    return weights


def fit_signed(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`fit`, leaving out (weight 0) each input whose weight comes out against its sign (decision.SIGNS),
    one at a time, the worst first."""
    kept = list(range(x.shape[1]))
    while True:
        inner = fit(x[:, kept], y)
        weights = np.zeros(x.shape[1] + 1)
        weights[0] = inner[0]
        weights[[k + 1 for k in kept]] = inner[1:]
        wrong = [(SIGNS[k] * weights[k + 1], k) for k in kept if SIGNS[k] * weights[k + 1] < 0]
        if not wrong:
            return weights
        kept.remove(min(wrong)[1])


def predict(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(weights[0] + x @ weights[1:], -30, 30)))


def figures(label: str, y: np.ndarray, p: np.ndarray) -> None:
    said = p >= 0.5
    hits = int((said & (y == 1)).sum())
    precision = hits / max(1, int(said.sum()))
    recall = hits / max(1, int((y == 1).sum()))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = float((said == (y == 1)).mean())
    print(f"  {label:<28} precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  accuracy {accuracy:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="put the coefficients into bot/stories/decision.py")
    args = parser.parse_args()
    examples = collect(meaning_embedder())
    x = np.array([e.evidence.inputs() for e in examples], dtype=np.float64)
    y = np.array([1.0 if e.same else 0.0 for e in examples])
    sets = Counter(e.group.split(":")[0] for e in examples)
    print(f"{len(examples)} examples ({int(y.sum())} same event): " + ", ".join(f"{k} {v}" for k, v in sets.items()))
    weights = fit_signed(x, y)
    print("coefficients: intercept " + f"{weights[0]:.3f}, "
          + ", ".join(f"{name} {w:.3f}" for name, w in zip(INPUTS, weights[1:], strict=True)))
    figures("in sample", y, predict(weights, x))
    folds = np.array([zlib.crc32(e.group.encode()) % 5 for e in examples])
    held = np.zeros(len(examples))
    for fold in range(5):
        test = folds == fold
        held[test] = predict(fit_signed(x[~test], y[~test]), x[test])
    figures("5-fold cross-validation", y, held)
    for name in sets:
        chosen = np.array([e.group.startswith(name + ":") for e in examples])
        figures(f"  of which {name}", y[chosen], held[chosen])
    if args.write:
        text = DECISION.read_text(encoding="utf-8")
        text = re.sub(r"INTERCEPT = .*", f"INTERCEPT = {weights[0]:.4f}", text)
        text = re.sub(r"COEFFICIENTS = .*", "COEFFICIENTS = (" + ", ".join(f"{w:.4f}" for w in weights[1:]) + ")", text)
        DECISION.write_text(text, encoding="utf-8")
        print(f"written to {DECISION.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
