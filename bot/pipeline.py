"""One feed through the pipeline: fetch -> parse -> full text -> read (match, features, credits) -> ingest.

Everything up to the ingest runs per feed and concurrently: fetching, parsing (worker processes), fetching
article pages, and reading each new entry once (a worker thread). Only filing and storing take turns, in
batches (bot/ingest/).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerts.policy import may_alert
from bot.config import FeedConfig
from bot.fetch.article import ArticleFetcher
from bot.fetch.poll import Poller, PollOutcome, poll_feed
from bot.ingest.analyse import analyse
from bot.ingest.batch import Ingest, IngestResult, PolledFeed
from bot.ingest.queue import IngestQueue
from bot.metrics import FEED_ERRORS, POLLS
from bot.model import Entry, Notice
from bot.rulebook import RuleBook
from bot.store.entries import unseen_entries
from bot.store.feeds import is_first_poll, load_state
from bot.storydesk import StoryDesk

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedPollReport:
    """One poll of one feed, for the logs, `poll --once` and /status."""

    feed: FeedConfig
    outcome: PollOutcome
    result: IngestResult


class FeedPipeline:
    """Polls configured feeds by URL: the unit the scheduler runs, once per feed at a time."""

    def __init__(
        self,
        engine: AsyncEngine,
        poller: Poller,
        rulebook: RuleBook,
        ingest: Ingest,
        feeds: dict[str, tuple[int, FeedConfig]],
        concurrency: int = 50,
    ) -> None:
        self.engine = engine
        self.poller = poller
        self.rulebook = rulebook
        self.articles = ArticleFetcher(poller.fetcher)
        self.ingest = ingest
        self.queue = IngestQueue(ingest)
        self.feeds = feeds
        # Thousands of feeds may be due at once: at most this many are read at a time (their database
        # reads, fetches and parses), the others wait their turn instead of the connection pool's timeout.
        self._slots = asyncio.Semaphore(concurrency)

    @property
    def desk(self) -> StoryDesk:
        return self.ingest.desk

    async def _new_entries(self, feed_id: int, feed: FeedConfig, items: list[Entry]) -> tuple[list[Entry], set[str]]:
        """The entries this feed has not had before, and the keys of those that may alert, whose article
        text is fetched when the feed wants full text (a new feed never sets off a burst of page fetches)."""
        async with self.engine.connect() as conn:
            unseen = await unseen_entries(conn, feed_id, items)
            first_poll = await is_first_poll(conn, feed_id)
        wanted = may_alert(unseen, feed.backlog, first_poll)
        alertable = {entry.key for entry in wanted}
        if not feed.fulltext or not wanted:
            return unseen, alertable
        fetched = await asyncio.gather(*(self.articles.enrich(entry) for entry in wanted))
        enriched = {entry.key: full for entry, full in zip(wanted, fetched, strict=True)}
        return [enriched.get(entry.key, entry) for entry in unseen], alertable

    async def fetch(self, url: str) -> PolledFeed:
        """Poll one feed and read its new entries: everything but storing."""
        async with self._slots:
            return await self._fetch(url)

    async def _fetch(self, url: str) -> PolledFeed:
        feed_id, feed = self.feeds[url]
        state = await load_state(self.engine, url)
        outcome = await poll_feed(state, self.poller)
        POLLS.labels(outcome.status.value).inc()
        if outcome.error:
            FEED_ERRORS.inc()
            log.warning("feed %s (%s): %s", state.name, url, outcome.error)
        notice = None
        if outcome.notice:
            log.warning("%s", outcome.notice)
            notice = Notice(f"feed:{url}:{outcome.state.last_polled_at}", outcome.notice)
        entries, alertable = await self._new_entries(feed_id, feed, outcome.entries or [])
        rules = self.rulebook.current
        analysed = await asyncio.to_thread(analyse, rules, self.desk, entries, alertable) if entries else []
        return PolledFeed(feed_id, feed, outcome, tuple(analysed), notice)

    async def poll(self, url: str) -> FeedPollReport:
        """Poll one feed and store what it brought, with the other polls that finish about now."""
        polled = await self.fetch(url)
        result = await self.queue.submit(polled)
        if result.new_entries:
            log.info("%s: %d new entries, %d alerts", polled.outcome.state.name, result.new_entries, len(result.alerts))
        return FeedPollReport(polled.feed, polled.outcome, result)

    async def store(self, polls: Sequence[PolledFeed]) -> list[FeedPollReport]:
        """Store polls as one batch (one poll cycle of `poll --once`: one canonical order for all of it)."""
        results = await self.ingest(polls)
        return [FeedPollReport(p.feed, p.outcome, r) for p, r in zip(polls, results, strict=True)]

    async def poll_and_reschedule(self, url: str) -> datetime:
        """The scheduler's job: poll, then say when to poll again."""
        report = await self.poll(url)
        return report.outcome.state.next_poll_at or datetime.now(UTC)
