"""One batch of polls through stories and alerts, stored in one transaction.

The entries of a batch are filed in one canonical order, whatever order their feeds answered in:
publication time (undated entries: when seen), then feed URL, then the entry's key. So the same feeds give
the same stories however their polls interleave, as long as they arrive in one batch (`poll --once` files a
whole cycle as one batch; the daemon files the polls that finish together, see queue.py; on PostgreSQL the
ingest holder files what the processes handed over, see handover.py).

Entries, their stories and credits, matches, alerts, the sinks' queues and every feed's new fetch state
(or the handed-over rows) are written in one transaction: a crash leaves all of a batch's work or none of
it, and the next poll (same validators, same body hash) or the next holder redoes what is missing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.alerts.policy import StoryMatch, decide, group, grown_stories
from bot.config import FeedConfig
from bot.deliver.sink import Sink
from bot.fetch.poll import PollOutcome
from bot.ingest.analyse import Analysed
from bot.ingest.desk import StoryDesk, ToFile, filing
from bot.metrics import ALERTS, NEW_ENTRIES, STAGE_SECONDS
from bot.model import Alert, AlertBatch, Notice, StoredEntry, StoryAlert
from bot.store.alerts import MatchRow, insert_alert, insert_matches, move_alerts, story_alerts
from bot.store.entries import NewEntry, insert_entries
from bot.store.feeds import save_state
from bot.store.stories import file_entries, merge_stories, story_members
from bot.store.volume import refresh_volume
from bot.stories.index import Assignment
from bot.stories.story import member_of, story_of


@dataclass(frozen=True, slots=True)
class StageSeconds:
    """How long a feed's poll took before storing, for its log line: the fetch and parse (`poll_feed`), the
    article pages fetched for full text, and reading the new entries (matching, story features, credits)."""

    poll: float = 0.0
    pages: float = 0.0
    read: float = 0.0


@dataclass(frozen=True, slots=True)
class PolledFeed:
    """One feed's poll, ready to store: its new entries, read, and its new fetch state; `more_to_come` when
    the feed had more new entries than one poll takes (the rest come with the next polls)."""

    feed_id: int
    feed: FeedConfig
    outcome: PollOutcome
    entries: tuple[Analysed, ...]
    notice: Notice | None = None
    more_to_come: bool = False
    seconds: StageSeconds = StageSeconds()


@dataclass(frozen=True, slots=True)
class IngestResult:
    """One poll's share of a stored batch: its new entries, and the stories it alerted for or grew."""

    new_entries: int
    stories: tuple[StoryAlert, ...]

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Per topic and story: the fresh alerts, and earlier ones whose story grew."""
        return tuple(alert for story in self.stories for alert in story.changes)


@dataclass(frozen=True, slots=True)
class ToIngest:
    """A new entry to store and file, read already: the poll it is counted for (`source`), its feed, and when
    it was seen."""

    source: int
    feed_id: int
    feed_url: str
    analysed: Analysed
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class Filed:
    """What filing a batch did: new entries per source, and the stories alerted for or grown, each with its
    source."""

    new_entries: Counter[int]
    stories: list[tuple[int, StoryAlert]]


@dataclass(frozen=True, slots=True)
class _Written:
    """A batch's stories as stored: the stories that may alert, their outlets before it, its matches (each
    with the source it came from), the stories that absorbed others, the last source that added to each
    story, and every story it changed (new members, merged into another or absorbing one)."""

    touched: list[int]
    outlets_before: dict[int, frozenset[str]]
    matched: list[tuple[int, StoryMatch]]
    merged_into: frozenset[int]
    last_source: dict[int, int]
    changed: frozenset[int]


def _when(item: ToIngest) -> datetime:
    return item.analysed.entry.published or item.seen_at


def _canonical(items: Sequence[ToIngest]) -> list[ToIngest]:
    return sorted(items, key=lambda item: (_when(item), item.feed_url, item.analysed.entry.key))


First = Callable[[AsyncConnection], Awaitable[None]]
"""What a batch's transaction does before filing: save the polls' fetch state, or take the handed-over rows."""
AfterFiling = Callable[[Mapping[str, str]], Awaitable[None]]
"""What runs once a batch is committed, with the topics that matched it, by id with their titles (the spike
check, bot/trends/spike_check.py)."""


class Ingest:
    """Stores new entries, files them under stories and raises alerts for entries that match a rule.

    One batch runs at a time: the story index and the one-alert-per-story decision must see every earlier
    entry.
    """

    def __init__(self, engine: AsyncEngine, sink: Sink, desk: StoryDesk, after: AfterFiling | None = None) -> None:
        self.engine = engine
        self.sink = sink
        self.desk = desk
        self.after = after
        self.lock = asyncio.Lock()

    async def __call__(self, polls: Sequence[PolledFeed]) -> list[IngestResult]:
        """Store a batch of polls with their fetch states; one result per poll, in the order given."""
        seen_at = clock.now()
        items = [
            ToIngest(index, poll.feed_id, poll.feed.url, analysed, seen_at)
            for index, poll in enumerate(polls)
            for analysed in poll.entries
        ]
        filed = await self.file(items, lambda conn: self._save_polls(conn, polls))
        return [
            IngestResult(
                new_entries=filed.new_entries[index],
                stories=tuple(story for source, story in filed.stories if source == index),
            )
            for index in range(len(polls))
        ]

    async def file(self, items: Sequence[ToIngest], first: First) -> Filed:
        """Store and file `items` in canonical order, in one transaction that begins with `first`."""
        async with self.lock:
            started = time.perf_counter()
            new = _canonical(items)
            filed = False
            try:
                async with self.engine.begin() as conn:
                    await first(conn)
                    rows = [(n.feed_id, NewEntry(n.analysed.entry, n.analysed.credits, n.seen_at)) for n in new]
                    stored = await insert_entries(conn, rows)
                    batch = [
                        ToFile(s.id, s.entry.url, n.analysed.observed, _when(n))
                        for s, n in zip(stored, new, strict=True)
                    ]
                    filed = True
                    assignments = await asyncio.to_thread(self.desk.file, batch, clock.now())
                    written = await self._store_stories(conn, new, stored, assignments)
                    await refresh_volume(conn, written.changed)
                    alerts_started = time.perf_counter()
                    raised = await self._raise(conn, written)
                    await self.sink.enqueue(conn, AlertBatch(tuple(story for _, story in raised)))
                    STAGE_SECONDS.labels("alerts").inc(time.perf_counter() - alerts_started)
            except BaseException:
                if filed:
                    self.desk.rollback()
                raise
            self.desk.commit()
            STAGE_SECONDS.labels("ingest").inc(time.perf_counter() - started)
        await self.sink.flush()
        if self.after is not None and written.matched:
            await self.after({match.match.rule_id: match.match.rule_title for _, match in written.matched})
        NEW_ENTRIES.inc(len(stored))
        for _, story in raised:
            for alert in story.changes:
                ALERTS.labels(alert.rule_id).inc()
        return Filed(Counter(n.source for n in new), raised)

    async def _store_stories(
        self, conn: AsyncConnection, new: list[ToIngest], stored: list[StoredEntry], assignments: list[Assignment]
    ) -> _Written:
        """Write where each entry went (merges included) and why rules matched it. Only the stories that
        may alert (those with a match, and those that absorbed others) are read back, whatever their size."""
        final = {a.entry_id: self.desk.index.story_of(a.entry_id) or a.story_id for a in assignments}
        merged_into = frozenset(final[a.entry_id] for a in assignments if a.merged)
        touched = sorted({final[s.id] for s, n in zip(stored, new, strict=True) if n.analysed.matches} | merged_into)
        before = {
            story_id: frozenset(member_of(m).outlet for m in members)
            for story_id, members in (await story_members(conn, touched)).items()
        }
        await file_entries(conn, [filing(assignment) for assignment in assignments])
        for assignment in assignments:
            if assignment.merged:
                await merge_stories(conn, assignment.story_id, assignment.merged)
                await move_alerts(conn, assignment.story_id, assignment.merged)
        found = [(s, n, match) for s, n in zip(stored, new, strict=True) for match in n.analysed.matches]
        match_ids = await insert_matches(conn, [MatchRow(s.id, match) for s, _, match in found])
        matched = [
            (n.source, StoryMatch(s.id, s.entry, match, match_id, final[s.id], n.analysed.may_alert))
            for (s, n, match), match_id in zip(found, match_ids, strict=True)
        ]
        last_source = {final[s.id]: n.source for s, n in zip(stored, new, strict=True)}
        changed = frozenset(final.values()) | {merged for a in assignments for merged in a.merged}
        return _Written(touched, before, matched, merged_into, last_source, changed)

    async def _raise(self, conn: AsyncConnection, written: _Written) -> list[tuple[int, StoryAlert]]:
        """The batch's alerts story by story (new alerts stored), each story with the source it is counted for:
        the source of its first new alert, else the last source that added to it."""
        if not written.matched and not written.merged_into:
            return []
        stories = {
            story_id: story_of(story_id, members, self.desk.settings)
            for story_id, members in (await story_members(conn, written.touched)).items()
        }
        earlier = await story_alerts(conn, written.touched)
        raised = decide([match for _, match in written.matched], stories, earlier.keys())
        source_of = {match.entry_id: source for source, match in written.matched}
        stored = [await insert_alert(conn, item.alert, item.entry_id, item.match_id) for item in raised]
        counted_for: dict[int, int] = dict(written.last_source)
        for item, alert in reversed(list(zip(raised, stored, strict=True))):
            counted_for[alert.story.id if alert.story else 0] = source_of[item.entry_id]
        batch = group(stored, stories, earlier, grown_stories(stories, written.outlets_before))
        return [(counted_for.get(story.story.id if story.story else 0, 0), story) for story in batch.stories]

    async def _save_polls(self, conn: AsyncConnection, polls: Sequence[PolledFeed]) -> None:
        for poll in polls:
            if poll.notice is not None:
                await self.sink.notify(conn, poll.notice)
            outcome = poll.outcome
            await save_state(
                conn, poll.feed_id, outcome.state, title=outcome.title, polled_ok=polled_ok(outcome, poll.more_to_come)
            )


def polled_ok(outcome: PollOutcome, more_to_come: bool) -> bool:
    """Whether a poll ends the feed's first-poll grace: a first poll taken in slices stays a first poll until
    its last slice."""
    return outcome.error is None and not more_to_come
