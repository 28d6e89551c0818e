"""One feed through the pipeline: fetch -> parse -> full text -> read (match, features, credits) -> ingest.

Everything up to the ingest runs per feed and concurrently: fetching, parsing (worker processes), fetching
article pages (`FeedFetch`, which every process sharing a PostgreSQL database does), and reading each new
entry once (a worker thread). Only filing and storing take turns, in batches (bot/ingest/).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.alerts.policy import may_alert, newest_first
from bot.config import FeedConfig
from bot.counts import plural
from bot.fetch.article import ArticleFetcher
from bot.fetch.poll import Poller, PollOutcome, PollStatus, more_to_come, poll_feed
from bot.ingest.analyse import analyse
from bot.ingest.batch import Ingest, IngestResult, PolledFeed, StageSeconds
from bot.ingest.desk import StoryDesk
from bot.ingest.queue import IngestQueue
from bot.metrics import FEED_ERRORS, POLLS
from bot.model import Entry, FeedState, Notice
from bot.rulebook.book import RuleBook
from bot.store.db import describe_error
from bot.store.entries import has_entries, unseen_entries
from bot.store.feeds import is_first_poll, load_state, save_schedules

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = timedelta(minutes=5)
"""When a feed whose poll failed unexpectedly (say, the database was locked) is polled again."""


@dataclass(frozen=True, slots=True)
class RegisteredFeed:
    """A configured feed and the id the store knows it by."""

    id: int
    config: FeedConfig


@dataclass(frozen=True, slots=True)
class NewItems:
    """What of a poll's entries goes on: the unseen ones (at most `max_items`, newest first), the keys of
    those that may alert, and whether more are left for the next polls."""

    entries: list[Entry]
    alertable: set[str]
    more_to_come: bool


@dataclass(frozen=True, slots=True)
class FetchedFeed:
    """One feed's poll before its entries are read: its new fetch state and its new entries (with the full
    text of those that may alert), how long it took, `more_to_come` when the feed had more new entries than
    one poll takes."""

    feed_id: int
    feed: FeedConfig
    outcome: PollOutcome
    entries: tuple[Entry, ...]
    alertable: frozenset[str]
    seconds: StageSeconds
    notice: Notice | None = None
    more_to_come: bool = False


@dataclass(frozen=True, slots=True)
class FeedPollReport:
    """One poll of one feed, for the logs, `poll --once` and /status."""

    feed: FeedConfig
    outcome: PollOutcome
    result: IngestResult


class FeedFetch:
    """Fetches configured feeds by URL, up to their new entries: what every process does with a feed.

    At most `max_items` new entries of a feed go on per poll, so a 100,000-item feed is taken in slices
    while the other feeds' polls go on in between.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        poller: Poller,
        feeds: dict[str, RegisteredFeed],
        concurrency: int = 50,
        max_items: int = 200,
    ) -> None:
        self.engine = engine
        self.poller = poller
        self.articles = ArticleFetcher(poller.fetcher, links=poller.links)
        self.feeds = feeds
        self.max_items = max_items
        # Thousands of feeds may be due at once: at most this many are read at a time (their database
        # reads, fetches and parses), the others wait their turn instead of the connection pool's timeout.
        self._slots = asyncio.Semaphore(concurrency)

    async def _new_entries(self, feed_id: int, feed: FeedConfig, items: list[Entry]) -> NewItems:
        """The entries this feed has not had before (at most `max_items`, newest first), and which of them
        may alert: on a first poll only the newest `backlog`, and a first poll cut in slices keeps its backlog
        for its first slice (later slices find entries stored already and alert on none)."""
        async with self.engine.connect() as conn:
            unseen = await unseen_entries(conn, feed_id, items)
            first_poll = await is_first_poll(conn, feed_id)
            continued = first_poll and await has_entries(conn, feed_id)
        more = len(unseen) > self.max_items
        if more:
            unseen = newest_first(unseen)[: self.max_items]
        wanted = may_alert(unseen, 0 if continued else feed.backlog, first_poll)
        return NewItems(unseen, {entry.key for entry in wanted}, more)

    async def _with_full_text(self, new: NewItems) -> list[Entry]:
        """The new entries, those that may alert enriched with their article's main text (a new feed never
        sets off a burst of page fetches)."""
        wanted = [entry for entry in new.entries if entry.key in new.alertable]
        fetched = await asyncio.gather(*(self.articles.enrich(entry) for entry in wanted))
        enriched = {entry.key: full for entry, full in zip(wanted, fetched, strict=True)}
        return [enriched.get(entry.key, entry) for entry in new.entries]

    async def __call__(self, url: str) -> FetchedFeed:
        """Poll one feed and find its new entries: everything but reading and storing them."""
        async with self._slots:
            return await self._fetch(url)

    async def _fetch(self, url: str) -> FetchedFeed:
        registered = self.feeds[url]
        feed_id, feed = registered.id, registered.config
        state = await load_state(self.engine, url)
        started = time.perf_counter()
        outcome = await poll_feed(state, self.poller)
        polled_at = time.perf_counter()
        POLLS.labels(outcome.status.value).inc()
        if outcome.error:
            FEED_ERRORS.inc()
            log.warning("feed %s (%s): %s", state.outlet, url, outcome.error)
        if outcome.skipped:
            shown = "; ".join(outcome.skipped[:3]) + ("; ..." if len(outcome.skipped) > 3 else "")
            log.warning("feed %s (%s): %d items skipped: %s", state.outlet, url, len(outcome.skipped), shown)
        notice = None
        if outcome.notice:
            log.warning("%s", outcome.notice)
            notice = Notice(f"feed:{url}:{outcome.state.last_polled_at}", outcome.notice)
        new = await self._new_entries(feed_id, feed, outcome.entries or [])
        if new.more_to_come:
            outcome = more_to_come(outcome, self.poller)
            log.info(
                "%s: %s now, the rest in the next polls",
                state.outlet,
                plural(len(new.entries), "new entry", "new entries"),
            )
        pages_started = time.perf_counter()
        entries = await self._with_full_text(new) if feed.fulltext and new.alertable else new.entries
        pages_done = time.perf_counter()
        seconds = StageSeconds(polled_at - started, pages_done - pages_started)
        return FetchedFeed(
            feed_id, feed, outcome, tuple(entries), frozenset(new.alertable), seconds, notice, new.more_to_come
        )

    async def edited_meanwhile(self, polled: FeedState) -> datetime | None:
        """The next poll of a feed whose settings were edited while it was polled, planned anew under them
        and stored (the poll planned under those it started with); None when nothing changed."""
        registered = self.feeds.get(polled.url)
        policy = self.poller.policy
        if registered is None or polled.schedule_key is None or polled.last_polled_at is None:
            return None
        every = registered.config.every
        key = policy.schedule_key(every)
        if polled.schedule_key == key:
            return None
        state = replace(polled, every=every, schedule_key=key)
        plan = policy.replan(state, clock.now())
        await save_schedules(self.engine, [replace(state, next_poll_at=plan.at, next_poll_reason=plan.why)])
        return plan.at

    def failure(self, url: str, error: BaseException) -> FeedPollReport:
        """A poll that failed unexpectedly (a bug, a database error), in one sentence; retried later."""
        message = describe_error(error)
        log.error("feed %s: %s", url, message, exc_info=log.isEnabledFor(logging.DEBUG))
        feed = self.feeds[url].config
        state = FeedState(url=url, name=feed.name or "", next_poll_at=clock.now() + RETRY_AFTER_FAILURE)
        return FeedPollReport(feed, PollOutcome(state, PollStatus.FAILED, error=message), IngestResult(0, ()))


class FeedPipeline:
    """One process's way for a feed: fetch, read its new entries, store them with the polls that finish
    about now. The unit the scheduler runs, once per feed at a time."""

    def __init__(self, fetch: FeedFetch, rulebook: RuleBook, ingest: Ingest) -> None:
        self.fetching = fetch
        self.rulebook = rulebook
        self.ingest = ingest
        self.queue = IngestQueue(ingest)

    @property
    def desk(self) -> StoryDesk:
        return self.ingest.desk

    async def fetch(self, url: str) -> PolledFeed:
        """Poll one feed and read its new entries: everything but storing."""
        fetched = await self.fetching(url)
        entries = list(fetched.entries)
        rules = self.rulebook.current
        started = time.perf_counter()
        analysed = (
            await asyncio.to_thread(analyse, rules, self.desk, entries, fetched.alertable) if entries else []
        )
        seconds = replace(fetched.seconds, read=time.perf_counter() - started)
        return PolledFeed(
            fetched.feed_id, fetched.feed, fetched.outcome, tuple(analysed), fetched.notice, fetched.more_to_come,
            seconds,
        )  # fmt: skip

    async def poll(self, url: str) -> FeedPollReport:
        """Poll one feed and store what it brought, with the other polls that finish about now; anything
        unexpected (a bug, a database error) is this feed's failure in one sentence, not every feed's."""
        try:
            polled = await self.fetch(url)
            result = await self.queue.submit(polled)
        except Exception as error:
            return self.fetching.failure(url, error)
        log_poll(polled, result)
        return FeedPollReport(polled.feed, polled.outcome, result)

    async def fetch_isolated(self, url: str) -> PolledFeed | FeedPollReport:
        """`fetch`, or this feed's failure as a report (see `poll`)."""
        try:
            return await self.fetch(url)
        except Exception as error:
            return self.fetching.failure(url, error)

    async def store(self, polls: Sequence[PolledFeed]) -> list[FeedPollReport]:
        """Store polls as one batch (one poll cycle of `poll --once`: one canonical order for all of it);
        if the batch fails, each poll is stored on its own, so a failure is only its own feed's."""
        try:
            results = await self.ingest(polls)
        except Exception as error:
            if len(polls) == 1:
                return [self.fetching.failure(polls[0].feed.url, error)]
            reason = describe_error(error)
            log.warning("storing %d polls together failed (%s); storing them one by one", len(polls), reason)
            reports = []
            for poll in polls:
                reports += await self.store([poll])
            return reports
        for poll, result in zip(polls, results, strict=True):
            log_poll(poll, result)
        return [FeedPollReport(p.feed, p.outcome, r) for p, r in zip(polls, results, strict=True)]

    async def poll_and_reschedule(self, url: str) -> datetime:
        """The scheduler's job: poll, then say when to poll again."""
        report = await self.poll(url)
        state = report.outcome.state
        return await self.fetching.edited_meanwhile(state) or state.next_poll_at or clock.now()


def log_poll(polled: PolledFeed, result: IngestResult) -> None:
    """One line per feed and poll: what was fetched, parsed, new, matched and alerted, with the milliseconds
    of each stage; at INFO when the poll brought something new, else at DEBUG (`-v`). A failure was logged as
    a warning already. The numbers are also the record's fields (`--log-format json`)."""
    outcome, seconds = polled.outcome, polled.seconds
    if outcome.status is PollStatus.FAILED:
        return
    fetch_ms = round((seconds.poll - outcome.parse_seconds) * 1000)
    fields: dict[str, object] = {
        "feed": outcome.state.outlet,
        "url": outcome.state.url,
        "status": outcome.status.value,
        "fetch_ms": fetch_ms,
    }
    if outcome.status is PollStatus.NOT_MODIFIED:
        parts = [f"304 not modified in {fetch_ms} ms"]
    elif outcome.status is PollStatus.UNCHANGED:
        parts = [f"fetched in {fetch_ms} ms", "body unchanged, parse skipped"]
    else:
        parsed, skipped = len(outcome.entries or ()), len(outcome.skipped)
        matches = sum(len(analysed.matches) for analysed in polled.entries)
        parse_ms, pages_ms, read_ms = (round(s * 1000) for s in (outcome.parse_seconds, seconds.pages, seconds.read))
        parts = [
            f"fetched in {fetch_ms} ms",
            f"parsed {plural(parsed, 'entry', 'entries')} in {parse_ms} ms",
            *([f"{plural(skipped, 'item')} skipped"] if skipped else []),
            f"{result.new_entries} new",
            *([f"article pages in {pages_ms} ms"] if pages_ms else []),
            f"{plural(matches, 'match', 'matches')} in {read_ms} ms",
            plural(len(result.alerts), "alert"),
        ]
        fields.update(
            parse_ms=parse_ms,
            parsed=parsed,
            skipped_items=skipped,
            new=result.new_entries,
            pages_ms=pages_ms,
            read_ms=read_ms,
            matched=matches,
            alerted=len(result.alerts),
        )
    level = logging.INFO if result.new_entries or result.alerts else logging.DEBUG
    log.log(level, "%s: %s", outcome.state.outlet, "; ".join(parts), extra=fields)
