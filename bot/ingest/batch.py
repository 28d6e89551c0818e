"""One batch of polls through stories and alerts, stored in one transaction.

The entries of a batch are filed in one canonical order, whatever order their feeds answered in:
publication time (undated entries: when seen), then feed URL, then the entry's key. So the same feeds give
the same stories however their polls interleave, as long as they arrive in one batch (`poll --once` files a
whole cycle as one batch; the daemon files the polls that finish together, see queue.py).

Entries, their stories and credits, matches, alerts, the sinks' queues and every feed's new fetch state
are written in one transaction: a crash leaves all of a batch's work or none of it, and the next poll
(same validators, same body hash) redoes what is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.alerts.policy import NewAlert, StoryMatch, decide
from bot.config import FeedConfig
from bot.deliver.sink import Sink
from bot.fetch.poll import PollOutcome
from bot.ingest.analyse import Analysed
from bot.metrics import ALERTS, NEW_ENTRIES
from bot.model import Alert, Notice, StoredEntry
from bot.store.alerts import MatchRow, insert_alert, insert_matches, move_alerts, story_alerts
from bot.store.entries import NewEntry, insert_entries
from bot.store.feeds import save_state
from bot.store.stories import file_entries, merge_stories, story_members
from bot.store.tables import utcnow
from bot.stories.index import Assignment
from bot.stories.story import member_of, story_of
from bot.storydesk import StoryDesk, ToFile, filing


@dataclass(frozen=True, slots=True)
class PolledFeed:
    """One feed's poll, ready to store: its new entries, read, and its new fetch state."""

    feed_id: int
    feed: FeedConfig
    outcome: PollOutcome
    entries: tuple[Analysed, ...]
    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    new_entries: int
    alerts: tuple[Alert, ...]


@dataclass(frozen=True, slots=True)
class _New:
    """A new entry of the batch, in filing order."""

    poll: int
    analysed: Analysed


def _canonical(polls: Sequence[PolledFeed], seen_at: datetime) -> list[_New]:
    found = [_New(index, item) for index, poll in enumerate(polls) for item in poll.entries]
    return sorted(
        found,
        key=lambda new: (new.analysed.entry.published or seen_at, polls[new.poll].feed.url, new.analysed.entry.key),
    )


class Ingest:
    """Stores what polls brought, files it under stories and raises alerts for entries that match a rule.

    One batch runs at a time: the story index and the one-alert-per-story decision must see every earlier
    entry.
    """

    def __init__(self, engine: AsyncEngine, sink: Sink, desk: StoryDesk) -> None:
        self.engine = engine
        self.sink = sink
        self.desk = desk
        self.lock = asyncio.Lock()

    async def __call__(self, polls: Sequence[PolledFeed]) -> list[IngestResult]:
        """Store a batch; one result per poll, in the order given."""
        async with self.lock:
            seen_at = utcnow()
            new = _canonical(polls, seen_at)
            filed = False
            try:
                async with self.engine.begin() as conn:
                    stored = await insert_entries(
                        conn,
                        [(polls[n.poll].feed_id, NewEntry(n.analysed.entry, n.analysed.credits)) for n in new],
                        seen_at,
                    )
                    batch = [
                        ToFile(s.id, s.entry.url, n.analysed.observed, s.entry.published or seen_at)
                        for s, n in zip(stored, new, strict=True)
                    ]
                    filed = True
                    assignments = await asyncio.to_thread(self.desk.file, batch, seen_at)
                    raised = await self._record(conn, new, stored, assignments)
                    await self.sink.enqueue(conn, [alert for _, alert in raised])
                    for poll in polls:
                        if poll.notice is not None:
                            await self.sink.notify(conn, poll.notice)
                        outcome = poll.outcome
                        await save_state(
                            conn, poll.feed_id, outcome.state, title=outcome.title, polled_ok=outcome.error is None
                        )
            except BaseException:
                if filed:
                    self.desk.rollback()
                raise
            self.desk.commit()
        await self.sink.flush()
        NEW_ENTRIES.inc(len(stored))
        for _, alert in raised:
            ALERTS.labels(alert.rule_id).inc()
        return [
            IngestResult(
                new_entries=sum(1 for n in new if n.poll == index),
                alerts=tuple(alert for source, alert in raised if source == index),
            )
            for index in range(len(polls))
        ]

    async def _record(
        self, conn: AsyncConnection, new: list[_New], stored: list[StoredEntry], assignments: list[Assignment]
    ) -> list[tuple[int, Alert]]:
        """Write the batch's stories and matches; return its alerts, each with the poll it came from."""
        poll_of = {s.id: n.poll for s, n in zip(stored, new, strict=True)}
        final = {a.entry_id: self.desk.index.story_of(a.entry_id) or a.story_id for a in assignments}
        merged_into = frozenset(final[a.entry_id] for a in assignments if a.merged)
        touched = sorted(set(final.values()))
        before = {
            story_id: frozenset(member_of(m).outlet for m in members)
            for story_id, members in (await story_members(conn, touched)).items()
        }
        await file_entries(conn, [filing(assignment) for assignment in assignments])
        for assignment in assignments:
            if assignment.merged:
                await merge_stories(conn, assignment.story_id, assignment.merged)
                await move_alerts(conn, assignment.story_id, assignment.merged)
        rows = [MatchRow(s.id, match) for s, n in zip(stored, new, strict=True) for match in n.analysed.matches]
        match_ids = await insert_matches(conn, rows)
        if not rows and not merged_into:
            return []
        stories = {
            story_id: story_of(story_id, members, self.desk.settings)
            for story_id, members in (await story_members(conn, touched)).items()
        }
        may = {s.id: n.analysed.may_alert for s, n in zip(stored, new, strict=True)}
        entry = {s.id: s.entry for s in stored}
        found = [
            StoryMatch(row.entry_id, entry[row.entry_id], row.match, match_id, final[row.entry_id], may[row.entry_id])
            for row, match_id in zip(rows, match_ids, strict=True)
        ]
        earlier = await story_alerts(conn, touched)
        raised, updates = decide(found, stories, before, earlier, merged_into)
        alerts = [(poll_of[item.entry_id], await self._insert(conn, item)) for item in raised]
        last_member = {final[s.id]: poll_of[s.id] for s in stored}
        return alerts + [(last_member.get(a.story.id if a.story else 0, 0), a) for a in updates]

    async def _insert(self, conn: AsyncConnection, item: NewAlert) -> Alert:
        return await insert_alert(conn, item.alert, item.entry_id, item.match_id)
