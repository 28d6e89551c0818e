"""Filing: read entries stored under their stories, alerts raised, in one transaction per batch.

The entries of a batch are filed in one canonical order, whatever order their feeds answered in:
publication time (undated entries: when seen), then feed URL, then the entry's key. So the same entries
give the same stories however their polls interleaved, as long as they are filed in one batch (`poll
--once` files a whole cycle; the daemon files what is waiting).

The meaning vectors a batch will likely need are embedded first, on every core, before its transaction
begins (story_window.embed_ahead): a slow model must not hold the database's write lock, which the polls
need. Entries, their stories and credits, matches, alerts and the stories to tell (store/untold.py) are written
in one transaction, which also takes the entries' unfiled rows: a crash leaves all of a batch's work or
none of it, and the next holder of the ingest role files what is missing. Telling the readers comes after
the commit (ingest/telling.py), never inside it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.alerts.policy import StoryMatch, decide, group, grown_stories
from bot.ingest.reading import ReadEntry
from bot.ingest.story_window import StoryWindow, ToFile, filing
from bot.metrics import ALERTS, NEW_ENTRIES, STAGE_SECONDS
from bot.model import StoredEntry, StoryAlert
from bot.store.alerts import MatchRow, insert_alert, insert_matches, move_alerts, story_alerts
from bot.store.entries import NewEntry, insert_entries
from bot.store.stories import file_entries, merge_stories, story_members
from bot.store.untold import NewUntold, record_untold
from bot.store.volume import refresh_volume
from bot.stories.index import Assignment
from bot.stories.story import member_of, story_of


@dataclass(frozen=True, slots=True)
class ReadRow:
    """A handed-over entry, read: its feed, and when it was seen."""

    feed_id: int
    feed_url: str
    read: ReadEntry
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class Filed:
    """What filing did: the waiting rows it took, new entries and matches per feed, the stories alerted for or
    grown (each with the feed it is counted for), and the topics that matched."""

    taken: int
    new_entries: Counter[int]
    matches: Counter[int]
    stories: list[tuple[int, StoryAlert]]
    topics: dict[str, str]
    """The topics that matched the batch, by rule id with their titles."""

    @classmethod
    def nothing(cls) -> Filed:
        return cls(0, Counter(), Counter(), [], {})

    def plus(self, other: Filed) -> Filed:
        return Filed(
            self.taken + other.taken,
            self.new_entries + other.new_entries,
            self.matches + other.matches,
            self.stories + other.stories,
            {**self.topics, **other.topics},
        )

    def of_feed(self, feed_id: int) -> tuple[int, tuple[StoryAlert, ...]]:
        """A feed's new entries and its stories."""
        return self.new_entries[feed_id], tuple(story for source, story in self.stories if source == feed_id)


@dataclass(frozen=True, slots=True)
class _Written:
    """A batch's stories as stored: the stories that may alert, their outlets before it, its matches (each
    with the feed it came from), the stories that absorbed others, the last feed that added to each story,
    and every story it changed (new members, merged into another or absorbing one)."""

    touched: list[int]
    outlets_before: dict[int, frozenset[str]]
    matched: list[tuple[int, StoryMatch]]
    merged_into: frozenset[int]
    last_feed: dict[int, int]
    changed: frozenset[int]


def _when(item: ReadRow) -> datetime:
    return item.read.entry.published or item.seen_at


def canonical(items: Sequence[ReadRow]) -> list[ReadRow]:
    """The filing order: publication time (else when seen), feed URL, entry key."""
    return sorted(items, key=lambda item: (_when(item), item.feed_url, item.read.entry.key))


First = Callable[[AsyncConnection], Awaitable[None]]
"""What a filing transaction does before filing: prove the role is still held, take the unfiled rows."""


class Filing:
    """Stores read entries, files them under stories and raises alerts; one batch at a time, since the story
    window and the one-alert-per-story decision must see every earlier entry."""

    def __init__(self, engine: AsyncEngine, window: StoryWindow) -> None:
        self.engine = engine
        self.window = window
        self.lock = asyncio.Lock()

    async def file(self, items: Sequence[ReadRow], first: First, taken: int) -> Filed:
        """Store and file `items` in canonical order, in one transaction that begins with `first` (which takes
        the `taken` waiting rows they came from)."""
        async with self.lock:
            new = canonical(items)
            await asyncio.to_thread(self.window.embed_ahead, [(n.read.observed, _when(n)) for n in new])
            started = time.perf_counter()
            filed = False
            try:
                async with self.engine.begin() as conn:
                    await first(conn)
                    rows = [(n.feed_id, NewEntry(n.read.entry, n.read.credits, n.seen_at)) for n in new]
                    stored = await insert_entries(conn, rows)
                    batch = [
                        ToFile(s.id, s.entry.url, n.read.observed, _when(n)) for s, n in zip(stored, new, strict=True)
                    ]
                    filed = True
                    assignments = await asyncio.to_thread(self.window.file, batch, clock.now())
                    written = await self._store_stories(conn, new, stored, assignments)
                    await refresh_volume(conn, written.changed)
                    alerts_started = time.perf_counter()
                    raised = await self._raise(conn, written)
                    await record_untold(conn, [_untold(story) for _, story in raised])
                    STAGE_SECONDS.labels("alerts").inc(time.perf_counter() - alerts_started)
            except BaseException:
                if filed:
                    self.window.rollback()
                raise
            self.window.commit()
            STAGE_SECONDS.labels("ingest").inc(time.perf_counter() - started)
        NEW_ENTRIES.inc(len(stored))
        for _, story in raised:
            for alert in story.changes:
                ALERTS.labels(alert.rule_id).inc()
        matches = Counter({feed_id: 0 for feed_id in {n.feed_id for n in new}})
        matches.update(n.feed_id for n in new for _ in n.read.matches)
        topics = {match.match.rule_id: match.match.rule_title for _, match in written.matched}
        return Filed(taken, Counter(n.feed_id for n in new), matches, raised, topics)

    async def _store_stories(
        self, conn: AsyncConnection, new: list[ReadRow], stored: list[StoredEntry], assignments: list[Assignment]
    ) -> _Written:
        """Write where each entry went (merges included) and why rules matched it. Only the stories that
        may alert (those with a match, and those that absorbed others) are read back, whatever their size."""
        final = {a.entry_id: self.window.index.story_of(a.entry_id) or a.story_id for a in assignments}
        merged_into = frozenset(final[a.entry_id] for a in assignments if a.merged)
        touched = sorted({final[s.id] for s, n in zip(stored, new, strict=True) if n.read.matches} | merged_into)
        before = {
            story_id: frozenset(member_of(m).outlet for m in members)
            for story_id, members in (await story_members(conn, touched)).items()
        }
        await file_entries(conn, [filing(assignment) for assignment in assignments])
        for assignment in assignments:
            if assignment.merged:
                await merge_stories(conn, assignment.story_id, assignment.merged)
                await move_alerts(conn, assignment.story_id, assignment.merged)
        found = [(s, n, match) for s, n in zip(stored, new, strict=True) for match in n.read.matches]
        match_ids = await insert_matches(conn, [MatchRow(s.id, match) for s, _, match in found])
        matched = [
            (n.feed_id, StoryMatch(s.id, s.entry, match, match_id, final[s.id], n.read.may_alert))
            for (s, n, match), match_id in zip(found, match_ids, strict=True)
        ]
        last_feed = {final[s.id]: n.feed_id for s, n in zip(stored, new, strict=True)}
        changed = frozenset(final.values()) | {merged for a in assignments for merged in a.merged}
        return _Written(touched, before, matched, merged_into, last_feed, changed)

    async def _raise(self, conn: AsyncConnection, written: _Written) -> list[tuple[int, StoryAlert]]:
        """The batch's alerts story by story (new alerts stored), each story with the feed it is counted for:
        the feed of its first new alert, else the last feed that added to it."""
        if not written.matched and not written.merged_into:
            return []
        stories = {
            story_id: story_of(story_id, members, self.window.settings)
            for story_id, members in (await story_members(conn, written.touched)).items()
        }
        earlier = await story_alerts(conn, written.touched)
        raised = decide([match for _, match in written.matched], stories, earlier.keys())
        feed_of = {match.entry_id: feed_id for feed_id, match in written.matched}
        stored = [await insert_alert(conn, item.alert, item.entry_id, item.match_id) for item in raised]
        counted_for: dict[int, int] = dict(written.last_feed)
        for item, alert in reversed(list(zip(raised, stored, strict=True))):
            counted_for[alert.story.id if alert.story else 0] = feed_of[item.entry_id]
        batch = group(stored, stories, earlier, grown_stories(stories, written.outlets_before))
        return [(counted_for.get(story.story.id if story.story else 0, 0), story) for story in batch.stories]


def _untold(story: StoryAlert) -> NewUntold:
    """What the tellers need to know of a story the batch alerted for or grew."""
    ids = tuple(alert.id for alert in story.fresh if alert.id is not None)
    return NewUntold(story.story.id if story.story is not None else None, ids, story.grown)
