"""Copies: the same article under another address, verbatim or with its own page furniture.

Two entries are one article when they share the canonical URL, when their normalised bodies are equal,
or when most word shingles of the shorter lead also occur in the other (reprints often cut the text or
add a line of boilerplate, which Jaccard similarity punishes and containment does not). Leads, not whole
bodies, are compared: a reprint keeps the opening, and a bounded lead keeps memory per entry bounded.

The index does not search for candidates itself: a copy shares every distinctive term of its original,
so the story index hands over the entries its term postings found (see index.py), and only those are
compared exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from bot.stories.features import StoryFeatures


class CopyReason(Enum):
    """Why two entries count as one article."""

    URL = "same canonical URL"
    BODY = "same normalised body"
    NEAR = "near-duplicate body"


@dataclass(frozen=True, slots=True)
class CopyMatch:
    """An earlier article that a new entry copies, and how sure we are (1.0 for identity)."""

    original: int
    reason: CopyReason
    similarity: float


def url_key(url: str) -> int:
    """A 64-bit key of a canonical URL: the index holds these, not 200,000 URL strings."""
    return int.from_bytes(hashlib.blake2b(url.encode(), digest_size=8).digest(), "little", signed=True)


@dataclass(frozen=True, slots=True)
class _Held:
    url: int
    features: StoryFeatures


class CopyIndex:
    """Articles in the window, by URL, body hash and lead shingles.

    `threshold` is the containment above which a lead is a copy; leads with fewer than `min_shingles`
    shingles (a one-line summary) are only matched by URL or exact body.
    """

    def __init__(self, threshold: float = 0.8, min_shingles: int = 12) -> None:
        self.threshold = threshold
        self.min_shingles = min_shingles
        self._held: dict[int, _Held] = {}
        self._by_url: dict[int, int] = {}
        self._by_digest: dict[int, int] = {}

    def find(self, url: str, features: StoryFeatures, candidates: Iterable[int]) -> CopyMatch | None:
        """The stored article that this one copies, if any: same URL, same body, or the candidate whose
        lead contains the most of this one's (ties: the lowest key)."""
        if url and url_key(url) in self._by_url:
            return CopyMatch(self._by_url[url_key(url)], CopyReason.URL, 1.0)
        if features.digest and features.digest in self._by_digest:
            return CopyMatch(self._by_digest[features.digest], CopyReason.BODY, 1.0)
        if len(features.lead) < self.min_shingles:
            return None
        best: CopyMatch | None = None
        mine = set(features.lead)
        for key in sorted(set(candidates)):
            other = self._held.get(key)
            if other is None or len(other.features.lead) < self.min_shingles:
                continue
            shared = len(mine.intersection(other.features.lead))
            score = shared / min(len(mine), len(other.features.lead))
            if score >= self.threshold and (best is None or score > best.similarity):
                best = CopyMatch(key, CopyReason.NEAR, score)
        return best

    def add(self, key: int, url: str, features: StoryFeatures) -> None:
        """Hold an article under `key` (the first holder of a URL or body keeps it)."""
        if key in self._held:
            raise ValueError(f"entry {key} is already in the copy index")
        self._held[key] = _Held(url_key(url) if url else 0, features)
        if url:
            self._by_url.setdefault(url_key(url), key)
        if features.digest:
            self._by_digest.setdefault(features.digest, key)

    def remove(self, key: int) -> None:
        """Forget an article (it left the time window)."""
        held = self._held.pop(key)
        if self._by_url.get(held.url) == key:
            del self._by_url[held.url]
        if self._by_digest.get(held.features.digest) == key:
            del self._by_digest[held.features.digest]

    def __contains__(self, key: object) -> bool:
        return key in self._held

    def __len__(self) -> int:
        return len(self._held)
