"""Copies: the same article under another address, verbatim or with its own page furniture.

Two entries are one article when they share the canonical URL, when their normalised bodies are equal,
or when most word shingles of the shorter body also occur in the longer one (reprints often cut the
text or add a line of boilerplate, which Jaccard similarity punishes and containment does not).
MinHash LSH (datasketch) finds the candidates without comparing against every stored article; the
decision is then made on the exact shingle sets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

from datasketch import MinHash, MinHashLSH

from bot.stories.terms import words


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


@dataclass(frozen=True, slots=True)
class _Stored:
    url: str
    digest: str
    shingles: frozenset[int]
    minhash: MinHash


def body_digest(text: str) -> str:
    """A hash of the text's words, blind to case, accents, punctuation and spacing."""
    return hashlib.sha256(" ".join(words(text)).encode()).hexdigest()


def shingles(text: str, size: int) -> frozenset[int]:
    """Runs of `size` consecutive words, each hashed to 64 bits the same way in every process."""
    tokens = words(text)
    return frozenset(
        int.from_bytes(hashlib.blake2b(" ".join(tokens[i : i + size]).encode(), digest_size=8).digest())
        for i in range(len(tokens) - size + 1)
    )


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    """Share of the smaller set found in the larger one."""
    smaller = min(len(a), len(b))
    return len(a & b) / smaller if smaller else 0.0


class CopyIndex:
    """Articles seen so far, searchable for copies of a new one.

    `threshold` is the containment above which a body is a copy; bodies with fewer than `min_shingles`
    shingles (a one-line summary) are only matched by URL or exact body.
    """

    def __init__(
        self, threshold: float = 0.8, shingle_size: int = 4, num_perm: int = 128, min_shingles: int = 12
    ) -> None:
        self.threshold = threshold
        self.shingle_size = shingle_size
        self.min_shingles = min_shingles
        self._template = MinHash(num_perm=num_perm)
        # Candidates are fetched generously (Jaccard 0.3) and then confirmed by exact containment.
        self._lsh = MinHashLSH(threshold=0.3, num_perm=num_perm)
        self._stored: dict[int, _Stored] = {}
        self._by_url: dict[str, int] = {}
        self._by_digest: dict[str, int] = {}

    def _minhash(self, grams: frozenset[int]) -> MinHash:
        template = self._template
        sketch = MinHash(len(template.hashvalues), permutations=template.permutations, scheme=template.scheme)
        sketch.update_batch(g.to_bytes(8) for g in grams)
        return sketch

    def _prepare(self, url: str, text: str) -> _Stored:
        grams = shingles(text, self.shingle_size)
        return _Stored(url, body_digest(text), grams, self._minhash(grams))

    def _find(self, item: _Stored) -> CopyMatch | None:
        if item.url and item.url in self._by_url:
            return CopyMatch(self._by_url[item.url], CopyReason.URL, 1.0)
        if item.digest in self._by_digest and item.shingles:
            return CopyMatch(self._by_digest[item.digest], CopyReason.BODY, 1.0)
        if len(item.shingles) < self.min_shingles:
            return None
        best: CopyMatch | None = None
        for key in sorted(self._lsh.query(item.minhash)):
            other = self._stored[key]
            if len(other.shingles) < self.min_shingles:
                continue
            score = containment(item.shingles, other.shingles)
            if score >= self.threshold and (best is None or score > best.similarity):
                best = CopyMatch(key, CopyReason.NEAR, score)
        return best

    def find(self, url: str, text: str) -> CopyMatch | None:
        """The stored article that this one copies, if any, without storing it."""
        return self._find(self._prepare(url, text))

    def add(self, key: int, url: str, text: str) -> CopyMatch | None:
        """Store an article under `key` and return the earlier article it copies, if any."""
        if key in self._stored:
            raise ValueError(f"entry {key} is already in the copy index")
        item = self._prepare(url, text)
        match = self._find(item)
        self._stored[key] = item
        if item.url:
            self._by_url.setdefault(item.url, key)
        if item.shingles:
            self._by_digest.setdefault(item.digest, key)
            self._lsh.insert(key, item.minhash)
        return match

    def remove(self, key: int) -> None:
        """Forget an article (it left the time window)."""
        item = self._stored.pop(key)
        if self._by_url.get(item.url) == key:
            del self._by_url[item.url]
        if self._by_digest.get(item.digest) == key:
            del self._by_digest[item.digest]
        if item.shingles:
            self._lsh.remove(key)

    def __contains__(self, key: object) -> bool:
        return key in self._stored

    def __len__(self) -> int:
        return len(self._stored)
