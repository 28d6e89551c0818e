"""NEAR/n, ONEAR/n and NEAR/s: two parts of a query close together in one field, in time linear in their hits."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from bot.match.document import Document, Evaluator, Hit


class NearEval(Evaluator):
    """Two positional parts close together (within `distance` words, or in one sentence) in the same field.

    Linear in the hits of its sides whatever the text: each hit is paired only with its nearest partner on
    each side, found by binary search, and of the pairs that start (or end) at the same word only the
    shortest is kept. Whether the NEAR holds is the same as with every pair: an enclosing NEAR still sees,
    for every pair, one with the same start and one with the same end, which is all its distance test looks
    at. A single NEAR marks the same words as every pair would; a chain marks words of matching pairs but,
    where several pairs cover the same words, those of one of them. So `a* NEAR/s a*` over 8,000 words makes
    at most 16,000 hits, not 64 million.
    """

    __slots__ = ("distance", "left", "ordered", "right")

    def __init__(self, left: Evaluator, right: Evaluator, distance: int | None, ordered: bool) -> None:
        self.left = left
        self.right = right
        self.distance = distance
        self.ordered = ordered

    def run(self, doc: Document) -> list[Hit] | None:
        lefts = self.left.run(doc)
        if not lefts:
            return None
        rights = self.right.run(doc)
        if not rights:
            return None
        left_groups, right_groups = self._groups(lefts, doc), self._groups(rights, doc)
        pairs: list[Hit] = []
        for key, group in left_groups.items():
            others = right_groups.get(key)
            if others is None:
                continue
            for a, b in _nearest_pairs(group, others, self.distance):
                pairs.append((a[0], a[1], b[2], a[3] + b[3]))
            if not self.ordered:
                for b, a in _nearest_pairs(others, group, self.distance):
                    pairs.append((a[0], b[1], a[2], a[3] + b[3]))
        return _shortest(pairs) or None

    def _groups(self, hits: list[Hit], doc: Document) -> dict[tuple[str, int], list[Hit]]:
        """Hits by field, and for NEAR/s by sentence too (a hit that spans two sentences can never count)."""
        groups: dict[tuple[str, int], list[Hit]] = {}
        for hit in hits:
            if self.distance is None:
                sentences = doc.fields[hit[0]].sentences
                sentence = sentences[hit[1]]
                if sentences[hit[2] - 1] != sentence:
                    continue
                groups.setdefault((hit[0], sentence), []).append(hit)
            else:
                groups.setdefault((hit[0], 0), []).append(hit)
        return groups


def _nearest_pairs(firsts: list[Hit], seconds: list[Hit], distance: int | None) -> list[tuple[Hit, Hit]]:
    """Pairs of a first hit and a second that starts at or after its end, at most `distance` words apart
    (any distance for None): for every first, its nearest second; for every second, its nearest first."""
    by_start = sorted(seconds, key=lambda h: h[1])
    starts = [h[1] for h in by_start]
    by_end = sorted(firsts, key=lambda h: h[2])
    ends = [h[2] for h in by_end]
    pairs = []
    for first in firsts:
        i = bisect_left(starts, first[2])
        if i < len(starts) and (distance is None or starts[i] - first[2] <= distance):
            pairs.append((first, by_start[i]))
    for second in seconds:
        i = bisect_right(ends, second[1]) - 1
        if i >= 0 and (distance is None or second[1] - ends[i] <= distance):
            pairs.append((by_end[i], second))
    return pairs


def _shortest(hits: list[Hit]) -> list[Hit]:
    """Of hits starting at the same word, the shortest; likewise of hits ending at the same word."""
    by_start: dict[tuple[str, int], Hit] = {}
    by_end: dict[tuple[str, int], Hit] = {}
    for hit in hits:
        field, start, end, _ = hit
        kept = by_start.get((field, start))
        if kept is None or end < kept[2]:
            by_start[(field, start)] = hit
        kept = by_end.get((field, end))
        if kept is None or start > kept[1]:
            by_end[(field, end)] = hit
    return list({id(hit): hit for hit in [*by_start.values(), *by_end.values()]}.values())
