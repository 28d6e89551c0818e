"""The stories of the window as running sums: each story's members and the sum of their unit vectors.

A story's centroid is kept as that sum and its squared length, updated when a member joins or leaves, in
time proportional to the member's own vector: never rebuilt from the members. A story of one member uses
that member's vector and keeps no sum at all (most stories have one member).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from bot.stories.features import StoryFeatures


@dataclass(slots=True)
class Member:
    story: int
    time: float
    features: StoryFeatures


@dataclass(slots=True)
class StorySum:
    """Members, the running sum of their vectors (None while the story has one member: its own vector
    serves), the sum's squared length, the span of its members' times, and whether it is closed (a roundup
    alone: nothing joins it, it merges with nothing)."""

    members: list[int]
    centroid: dict[str, float] | None
    norm2: float
    start: float
    end: float
    closed: bool = False


@dataclass(frozen=True, slots=True)
class Merged:
    """Story `other` (with these members, closed or not) merged into `into`: what undoing it needs."""

    into: int
    other: int
    members: tuple[int, ...]
    closed: bool


def dot(vector: StoryFeatures, weights: dict[str, float]) -> float:
    get = weights.get
    return sum(w * get(t, 0.0) for t, w in zip(vector.terms, vector.weights, strict=True))


class Stories:
    """Every story in the window, by id, and every member, by entry id."""

    def __init__(self) -> None:
        self.members: dict[int, Member] = {}
        self.stories: dict[int, StorySum] = {}

    def hold(self, entry_id: int, features: StoryFeatures, time: float, story_id: int, closed: bool = False) -> None:
        """An entry joins a story (a new one: its id is `story_id`)."""
        self.members[entry_id] = Member(story_id, time, features)
        story = self.stories.get(story_id)
        if story is None:
            self.stories[story_id] = StorySum([entry_id], None, 1.0, time, time, closed)
        else:
            self._join(story, entry_id, features, time)

    def release(self, entry_id: int) -> Member:
        """An entry leaves its story (and the window); an emptied story goes."""
        member = self.members.pop(entry_id)
        story = self.stories[member.story]
        story.members.remove(entry_id)
        if not story.members:
            del self.stories[member.story]
        else:
            self._leave(story, member.features)
        return member

    def weights(self, story: StorySum) -> dict[str, float]:
        if story.centroid is not None:
            return story.centroid
        return self.members[story.members[0]].features.weight_map()

    def cosine(self, features: StoryFeatures, story: StorySum) -> float:
        """Cosine between an entry's vector and a story's centroid."""
        return dot(features, self.weights(story)) / math.sqrt(story.norm2 or 1.0)

    def similarity(self, first: int, second: int) -> float:
        """Cosine between the centroids of two stories."""
        a, b = self.stories[first], self.stories[second]
        small, large = (a, b) if len(self.weights(a)) <= len(self.weights(b)) else (b, a)
        weights = self.weights(large)
        total = sum(w * weights.get(t, 0.0) for t, w in self.weights(small).items())
        return total / math.sqrt((a.norm2 or 1.0) * (b.norm2 or 1.0))

    def merge(self, story_ids: Iterable[int]) -> tuple[int, list[Merged]]:
        """Merge stories into the oldest (lowest id); its id, and what undoing each merge needs."""
        ordered = sorted(set(story_ids))
        into = self.stories[ordered[0]]
        undo = []
        for other_id in ordered[1:]:
            other = self.stories.pop(other_id)
            undo.append(Merged(ordered[0], other_id, tuple(other.members), other.closed))
            for member_id in other.members:
                member = self.members[member_id]
                member.story = ordered[0]
                self._join(into, member_id, member.features, member.time)
        into.norm2 = sum(w * w for w in self.weights(into).values())
        return ordered[0], undo

    def split(self, merged: Merged) -> None:
        """Undo a merge: the merged story's members leave the survivor and form their story again."""
        into = self.stories[merged.into]
        for member_id in merged.members:
            into.members.remove(member_id)
            self._leave(into, self.members[member_id].features)
        first = self.members[merged.members[0]]
        self.stories[merged.other] = StorySum([merged.members[0]], None, 1.0, first.time, first.time, merged.closed)
        for member_id in merged.members:
            member = self.members[member_id]
            member.story = merged.other
            if member_id != merged.members[0]:
                self._join(self.stories[merged.other], member_id, member.features, member.time)

    def _join(self, story: StorySum, entry_id: int, features: StoryFeatures, time: float) -> None:
        if story.centroid is None:
            story.centroid = self.members[story.members[0]].features.weight_map()
        centroid = story.centroid
        norm2 = story.norm2
        for term, weight in zip(features.terms, features.weights, strict=True):
            old = centroid.get(term, 0.0)
            new = old + weight
            centroid[term] = new
            norm2 += new * new - old * old
        story.norm2 = norm2
        story.members.append(entry_id)
        story.start, story.end = min(story.start, time), max(story.end, time)

    def _leave(self, story: StorySum, features: StoryFeatures) -> None:
        """Take a member's vector out of the story's sum. The story's time span stays as it was: it only
        matters for entries as old as the ones leaving."""
        if len(story.members) == 1:
            story.centroid = None
            story.norm2 = 1.0
            return
        centroid = story.centroid
        assert centroid is not None
        norm2 = story.norm2
        for term, weight in zip(features.terms, features.weights, strict=True):
            old = centroid.get(term, 0.0)
            left = old - weight
            if left > 1e-6:
                centroid[term] = left
            else:
                centroid.pop(term, None)
                left = 0.0
            norm2 += left * left - old * old
        story.norm2 = max(norm2, 1e-12)
