"""One feed through the pipeline: fetch -> parse -> store -> match -> alerts -> sink.

Entries, matches, alerts, the sink's queue and the feed's new fetch state are written in one
transaction, so a crash at any point leaves either all of a poll's work or none of it, and the
next poll (same validators, same body hash) redoes what is missing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import FeedConfig
from bot.deliver.sink import Sink
from bot.fetch.poll import Poller, PollOutcome, poll_feed
from bot.match.matcher import Matcher
from bot.metrics import ALERTS, FEED_ERRORS, MATCH_SECONDS, NEW_ENTRIES, POLLS
from bot.model import Alert, Entry, FeedState, Match
from bot.rulebook import RuleBook
from bot.store.alerts import record_match
from bot.store.entries import StoredEntry, add_new_entries
from bot.store.feeds import is_first_poll, load_state, save_state

log = logging.getLogger(__name__)

_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class IngestResult:
    new_entries: int
    alerts: tuple[Alert, ...]


@dataclass(frozen=True, slots=True)
class FeedPollReport:
    """One poll of one feed, for the logs, `poll --once` and /status."""

    feed: FeedConfig
    outcome: PollOutcome
    result: IngestResult


def backlog_ids(stored: Sequence[StoredEntry], backlog: int) -> set[int]:
    """The newest `backlog` entries of a feed's first poll: the only ones that may alert then."""
    newest = sorted(stored, key=lambda s: (s.entry.published or _OLDEST, s.id), reverse=True)
    return {s.id for s in newest[:backlog]}


def _match_all(matcher: Matcher, entries: Sequence[Entry]) -> list[list[Match]]:
    return [matcher.match(entry) for entry in entries]


class Ingest:
    """Stores what a poll brought and raises alerts for new entries that match a rule."""

    def __init__(self, engine: AsyncEngine, sink: Sink) -> None:
        self.engine = engine
        self.sink = sink

    async def __call__(
        self,
        *,
        feed_id: int,
        backlog: int,
        entries: Sequence[Entry],
        state: FeedState,
        title: str | None,
        polled_ok: bool,
        matcher: Matcher,
    ) -> IngestResult:
        alerts: list[Alert] = []
        async with self.engine.begin() as conn:
            first_poll = await is_first_poll(conn, feed_id)
            stored = await add_new_entries(conn, feed_id, entries)
            eligible = backlog_ids(stored, backlog) if first_poll else {s.id for s in stored}
            with MATCH_SECONDS.time():
                found = await asyncio.to_thread(_match_all, matcher, [s.entry for s in stored])
            for item, matches in zip(stored, found, strict=True):
                for match in matches:
                    alert = await record_match(conn, item, match, raise_alert=item.id in eligible)
                    if alert is not None:
                        alerts.append(alert)
            await self.sink.enqueue(conn, alerts)
            await save_state(conn, feed_id, state, title=title, polled_ok=polled_ok)
        await self.sink.flush()
        NEW_ENTRIES.inc(len(stored))
        for alert in alerts:
            ALERTS.labels(alert.rule_id).inc()
        return IngestResult(new_entries=len(stored), alerts=tuple(alerts))


class FeedPipeline:
    """Polls configured feeds by URL: the unit the scheduler runs, once per feed at a time."""

    def __init__(
        self,
        engine: AsyncEngine,
        poller: Poller,
        rulebook: RuleBook,
        sink: Sink,
        feeds: dict[str, tuple[int, FeedConfig]],
    ) -> None:
        self.engine = engine
        self.poller = poller
        self.rulebook = rulebook
        self.ingest = Ingest(engine, sink)
        self.feeds = feeds

    async def poll(self, url: str) -> FeedPollReport:
        feed_id, feed = self.feeds[url]
        state = await load_state(self.engine, url)
        outcome = await poll_feed(state, self.poller)
        POLLS.labels(outcome.status.value).inc()
        if outcome.error:
            FEED_ERRORS.inc()
            log.warning("feed %s (%s): %s", state.name, url, outcome.error)
        if outcome.notice:
            log.warning("%s", outcome.notice)
        result = await self.ingest(
            feed_id=feed_id,
            backlog=feed.backlog,
            entries=outcome.entries or [],
            state=outcome.state,
            title=outcome.title,
            polled_ok=outcome.error is None,
            matcher=self.rulebook.current.matcher,
        )
        if result.new_entries:
            log.info("%s: %d new entries, %d alerts", state.name, result.new_entries, len(result.alerts))
        return FeedPollReport(feed, outcome, result)

    async def poll_and_reschedule(self, url: str) -> datetime:
        """The scheduler's job: poll, then say when to poll again."""
        report = await self.poll(url)
        return report.outcome.state.next_poll_at or datetime.now(UTC)
