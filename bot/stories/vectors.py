"""The most recent meaning vectors of the window, searched all at once.

A ring of the last `capacity` entries' unit vectors in one float32 matrix: the nearest to a new vector are
one matrix product away (4,096 x 384 in about half a millisecond), whatever the window holds. Entries that
left the window may still be in the ring until overwritten: callers skip those.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class RecentVectors:
    def __init__(self, capacity: int, dimensions: int = 384) -> None:
        self._matrix = np.zeros((capacity, dimensions), dtype=np.float32)
        self._ids = np.full(capacity, -1, dtype=np.int64)
        self._next = 0

    def add(self, entry_id: int, vector: Sequence[float]) -> None:
        slot = self._next % len(self._ids)
        self._matrix[slot] = vector
        self._ids[slot] = entry_id
        self._next += 1

    def nearest(self, vector: Sequence[float], count: int, floor: float) -> list[tuple[float, int]]:
        """Up to `count` (cosine, entry id) of the vectors closest to `vector`, each at least `floor`."""
        filled = min(self._next, len(self._ids))
        if not filled:
            return []
        cosines = self._matrix[:filled] @ np.asarray(vector, dtype=np.float32)
        count = min(count, filled)
        best = np.argpartition(-cosines, count - 1)[:count]
        return sorted(
            ((float(cosines[i]), int(self._ids[i])) for i in best if cosines[i] >= floor),
            key=lambda item: (-item[0], item[1]),
        )
