"""The live story index: which story each new entry joins, kept in memory and rebuilt from the store.

Assignments are decided here and written by the pipeline in the same transaction as the entries; if that
transaction fails, `forget` takes the entries back out so memory never runs ahead of the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import StoriesConfig
from bot.rulebook import Rules
from bot.store.entries import StoredEntry
from bot.store.stories import set_story, window_entries
from bot.stories.cluster import Assignment, ClusterConfig, StoryIndex

_PRUNE_EVERY = timedelta(minutes=10)


class StoryDesk:
    """Files entries under stories; not thread-safe, so callers take turns (the pipeline's lock)."""

    def __init__(self, settings: StoriesConfig) -> None:
        self.settings = settings
        self.index = StoryIndex(ClusterConfig(window=settings.window))
        self._pruned_at = datetime.now(UTC)

    async def replay(self, engine: AsyncEngine, rules: Rules) -> None:
        """Rebuild the index from the window's stored entries; entries stored without a story get one now."""
        now = datetime.now(UTC)
        unfiled = []
        for item in await window_entries(engine, now - self.settings.window):
            assignment = self.index.add(
                item.stored.id,
                item.stored.entry,
                rules.entity_ids(item.stored.entry),
                at=item.seen_at,
                story_id=item.story_id,
            )
            if item.story_id is None:
                unfiled.append(assignment)
        async with engine.begin() as conn:
            for assignment in unfiled:
                await set_story(conn, assignment.entry_id, assignment.story_id, assignment.copy_of)

    def assign(self, stored: Sequence[StoredEntry], rules: Rules, seen_at: datetime) -> list[Assignment]:
        """File each new entry under a story (CPU work: run it off the event loop)."""
        if seen_at - self._pruned_at > _PRUNE_EVERY:
            self.index.prune(seen_at)
            self._pruned_at = seen_at
        return [
            self.index.add(item.id, item.entry, rules.entity_ids(item.entry), at=seen_at) for item in stored
        ]

    def forget(self, entry_ids: Sequence[int]) -> None:
        for entry_id in entry_ids:
            if self.index.story_of(entry_id) is not None:
                self.index.forget(entry_id)
