"""Quality measures for clustering and attribution, shared by the benches and the tests that hold the targets."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True, slots=True)
class Score:
    """Precision, recall and F1 of one measure."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _ratio(hits: float, total: float) -> float:
    return hits / total if total else 1.0


def set_score(predicted: Iterable[frozenset[Hashable]], expected: Iterable[frozenset[Hashable]]) -> Score:
    """Micro-averaged precision and recall of predicted item sets against expected ones, case by case."""
    hits = found = wanted = 0
    for got, want in zip(predicted, expected, strict=True):
        hits += len(got & want)
        found += len(got)
        wanted += len(want)
    return Score(_ratio(hits, found), _ratio(hits, wanted))


def pairwise(predicted: Mapping[str, Hashable], gold: Mapping[str, Hashable]) -> Score:
    """Pairwise precision/recall: of the item pairs put together, how many belong together, and vice versa."""
    items = sorted(gold)
    same_pred = {(a, b) for a, b in combinations(items, 2) if predicted[a] == predicted[b]}
    same_gold = {(a, b) for a, b in combinations(items, 2) if gold[a] == gold[b]}
    hits = len(same_pred & same_gold)
    return Score(_ratio(hits, len(same_pred)), _ratio(hits, len(same_gold)))


def bcubed(predicted: Mapping[str, Hashable], gold: Mapping[str, Hashable]) -> Score:
    """B-cubed precision/recall (Bagga & Baldwin): per item, the share of its cluster that is right."""
    precision = recall = 0.0
    for item in gold:
        pred_cluster = {o for o in gold if predicted[o] == predicted[item]}
        gold_cluster = {o for o in gold if gold[o] == gold[item]}
        overlap = len(pred_cluster & gold_cluster)
        precision += overlap / len(pred_cluster)
        recall += overlap / len(gold_cluster)
    return Score(precision / len(gold), recall / len(gold))
